"""The terminal progress bar: what it draws, when it stays silent, how it erases itself."""

import io

from xprop.progress import ProgressBar


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_draws_fraction_counts_and_rate_on_a_terminal():
    out = Terminal()
    bar = ProgressBar(50_000, label="epoch 1/30", stream=out, interval=0)
    bar.update(25_000)
    text = out.getvalue()
    assert text.startswith("\repoch 1/30  [")
    assert "50%" in text and "25,000/50,000" in text and "/s" in text and "ETA" in text
    assert "#" * 12 + "-" * 12 in text


def test_render_is_exact():
    bar = ProgressBar(200, label="x", stream=io.StringIO(), width=10)
    assert bar.render(50, 2.0) == "x  [##--------]   25%  50/200  25/s  ETA 6s"
    assert bar.render(200, 4.0) == "x  [##########]  100%  200/200  50/s"


def test_bytes_are_shown_with_units():
    bar = ProgressBar(26_421_880, unit="B", stream=io.StringIO())
    assert "13.2 MB/26.4 MB" in bar.render(13_210_940, 1.0)


def test_silent_when_the_stream_is_not_a_terminal():
    out = io.StringIO()
    with ProgressBar(10, stream=out) as bar:
        for done in range(1, 11):
            bar.update(done)
    assert out.getvalue() == ""


def test_redraws_at_most_once_per_interval_but_always_at_the_end():
    out = Terminal()
    bar = ProgressBar(1000, stream=out, interval=3600)
    for done in range(1, 1001):
        bar.update(done)
    assert out.getvalue().count("\r") == 1  # only the last update: the interval never passed
    assert "1,000/1,000" in out.getvalue()


def test_the_first_draw_waits_for_the_interval(monkeypatch):
    clock = iter([100.0, 100.01, 100.5])  # created, then two updates
    monkeypatch.setattr("xprop.progress.time.perf_counter", lambda: next(clock))
    out = Terminal()
    bar = ProgressBar(1000, stream=out, interval=0.1)
    bar.update(10)
    assert out.getvalue() == ""
    bar.update(500)
    assert "500/1,000" in out.getvalue() and "1,000/s" in out.getvalue()


def test_close_erases_the_bar():
    out = Terminal()
    bar = ProgressBar(10, label="abc", stream=out, interval=0)
    bar.update(5)
    drawn = len(out.getvalue()) - 1
    bar.close()
    assert out.getvalue().endswith("\r" + " " * drawn + "\r")
