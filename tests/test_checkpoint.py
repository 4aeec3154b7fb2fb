"""Checkpoints and resume: a run stopped after any epoch and resumed ends exactly where
the uninterrupted run ends (bit for bit on numpy), files are written atomically, only
the run's own files are ever removed, and other files are refused clearly."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from helpers import rewrite_header
from hypothesis import strategies as st

from xprop import (DivergenceError, EarlyStopping, FileFormatError, InputError, Network, ReduceOnPlateau,
                   RunConfig, Trainer)
from xprop.io.checkpoint import (Checkpoint, checkpoint_name, latest_checkpoint, list_checkpoints,
                              load_checkpoint, resume, save_checkpoint)
from xprop.io.modelfile import TRAIN_METADATA, VERSION, read_file
from xprop.io.networks import load_model, save_model
from xprop.io.npz import read_archive as read_npz, read_document, write_document

EPOCHS = 7
OPTIONS = dict(batch_size=7, eta=3.0, momentum=0.6, lmbda=0.2, monitor=["training_cost", "training_accuracy"])


def data(dtype=np.float32):
    rng = np.random.default_rng(11)
    X = rng.random((120, 6))
    return X.astype(dtype), (X @ np.arange(6)).astype(np.int64) % 4


def schedule():
    """A schedule that changes η during the run and an early stop that watches a metric:
    both keep counters that a resumed run must restore."""
    return [ReduceOnPlateau(patience=1, metric="training_cost"),
            EarlyStopping(patience=3, metric="training_accuracy")]


def network(**kwargs):
    return Network([6, 8, 4], seed=1, **kwargs)


def uninterrupted(X, y, epochs=EPOCHS, **kwargs):
    trainer = Trainer(network(**kwargs), epochs=epochs, callbacks=schedule(), **OPTIONS)
    trainer.run(X, y)
    return trainer


def host(net):
    weights, biases = net.parameters_to_host()
    return weights + biases


def same_metrics(a, b):
    keep = ("epoch", "eta", "training_cost", "training_accuracy")
    return [{k: r[k] for k in keep} for r in a.history.to_dicts()] == \
           [{k: r[k] for k in keep} for r in b.history.to_dicts()]


@pytest.mark.parametrize("stop_after", [1, 3, 5])
def test_resume_equals_the_uninterrupted_run_bit_for_bit(tmp_path, stop_after):
    X, y = data()
    reference = uninterrupted(X, y)
    assert len(set(reference.history.column("eta"))) > 1, "the schedule must change eta to be tested"
    first = Trainer(network(), epochs=stop_after, callbacks=[*schedule(), Checkpoint(tmp_path)], **OPTIONS)
    first.run(X, y)
    trainer = resume(tmp_path, callbacks=schedule(), epochs=EPOCHS)
    assert trainer.epoch == stop_after
    trainer.run(X, y)
    assert all(np.array_equal(a, b) for a, b in zip(host(trainer.network), host(reference.network)))
    assert same_metrics(trainer, reference)
    assert trainer.history.stopped_early == reference.history.stopped_early
    last = len(reference.history)
    assert [e for e, _ in list_checkpoints(tmp_path)] == [last - 1, last]


def test_early_stopping_restores_its_best_parameters_after_a_resume(tmp_path):
    """EarlyStopping's best parameters travel in the checkpoint: the resumed run stops at
    the same epoch and puts back the same parameters."""
    X, y = data()
    reference = uninterrupted(X, y, epochs=40)
    assert reference.history.stopped_early and "no improvement" in reference.history.stopped_early
    stopped = len(reference.history)
    Trainer(network(), epochs=stopped - 1, callbacks=[*schedule(), Checkpoint(tmp_path)], **OPTIONS).run(X, y)
    trainer = resume(tmp_path, callbacks=schedule(), epochs=40)
    trainer.run(X, y)
    assert len(trainer.history) == stopped
    assert all(np.array_equal(a, b) for a, b in zip(host(trainer.network), host(reference.network)))


def test_resume_on_another_backend_continues_the_same_run(tmp_path, case):
    """A numpy checkpoint resumed on every backend, device and dtype ends where numpy does,
    within the dtype's tolerance, with its arrays on that backend."""
    X, y = data(np.float64)
    Trainer(network(dtype="float64"), epochs=2, callbacks=[*schedule(), Checkpoint(tmp_path)], **OPTIONS).run(X, y)
    reference = uninterrupted(X, y, epochs=4, dtype="float64")
    trainer = resume(tmp_path, callbacks=schedule(), epochs=4, backend=case.name,
                     device=case.device, dtype=case.dtype, checkpoint=False)
    trainer.run(case.put(X), case.put(y))
    for w in trainer.network.weights + trainer.network.biases:
        case.assert_native(w)
    for a, b in zip(host(trainer.network), host(reference.network)):
        np.testing.assert_allclose(a, b, rtol=0, atol=2e4 * case.eps)


def test_only_the_newest_checkpoints_are_kept_and_nothing_else_is_touched(tmp_path):
    X, y = data()
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "checkpoint-epoch0001.npz.bak").write_text("mine too")
    Trainer(network(), epochs=5, callbacks=[Checkpoint(tmp_path, keep=3)], **OPTIONS).run(X, y)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "checkpoint-epoch0001.npz.bak", "checkpoint-epoch0003.npz", "checkpoint-epoch0004.npz",
        "checkpoint-epoch0005.npz", "notes.txt"]
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert latest_checkpoint(tmp_path).name == checkpoint_name(5)


def test_a_fresh_run_never_overwrites_checkpoints(tmp_path):
    X, y = data()
    Trainer(network(), epochs=2, callbacks=[Checkpoint(tmp_path)], **OPTIONS).run(X, y)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(InputError, match="already holds checkpoints.*resume"):
        Checkpoint(tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_a_failed_write_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    """Fault injection: the disk fills up half-way through writing epoch 3's file."""
    X, y = data()
    import xprop.io.npz

    real_savez, calls = np.savez, []

    def savez_then_fail(handle, **arrays):
        calls.append(1)
        if len(calls) == 3:  # epoch 3's file
            real_savez(handle, **arrays)
            handle.truncate(100)
            raise OSError(28, "No space left on device")
        real_savez(handle, **arrays)

    monkeypatch.setattr(xprop.io.npz.numpy, "savez", savez_then_fail)
    trainer = Trainer(network(), epochs=5, callbacks=[Checkpoint(tmp_path)], **OPTIONS)
    with pytest.raises(OSError, match="No space left"):
        trainer.run(X, y)
    assert sorted(p.name for p in tmp_path.iterdir()) == [checkpoint_name(1), checkpoint_name(2)]
    saved = load_checkpoint(tmp_path / checkpoint_name(2))
    assert saved.epoch == 2 and trainer.epoch == 3  # the trainer itself finished epoch 3
    two = Trainer(network(), epochs=2, **OPTIONS)
    two.run(X, y)
    assert all(np.array_equal(a, b) for a, b in zip(saved.state["weights"], host(two.network)))


def test_divergence_leaves_the_last_good_epoch_on_disk(tmp_path):
    X, y = data()

    class Explode:
        def on_epoch_end(self, trainer, record):
            if trainer.epoch == 2:
                trainer.eta = 1e30

    net = network(activation="linear", output_activation="linear")
    with np.errstate(all="ignore"), pytest.raises(DivergenceError) as caught:
        Trainer(net, epochs=5, callbacks=[Explode(), Checkpoint(tmp_path)], **{**OPTIONS, "eta": 0.01}).run(X, y)
    assert caught.value.epoch == 3
    saved = load_checkpoint(latest_checkpoint(tmp_path))
    assert saved.epoch == 2
    assert all(np.array_equal(a, b) for a, b in zip(saved.state["weights"] + saved.state["biases"], host(net)))
    again = save_checkpoint(tmp_path / "diverged.npz", caught.value.trainer, metadata={"why": "diverged"})
    assert load_checkpoint(again).metadata == {"why": "diverged"}


def test_metadata_and_config_round_trip(tmp_path):
    X, y = data()
    meta = {"command": ["xprop", "train", "--eta", "3.0"], "data": "mnist", "nested": {"n": 1}}
    Trainer(network(), epochs=1, callbacks=[Checkpoint(tmp_path, metadata=meta)], **OPTIONS).run(X, y)
    saved = load_checkpoint(latest_checkpoint(tmp_path))
    assert saved.metadata == meta and saved.backend == "numpy" and saved.version == VERSION
    assert saved.network == network().config()
    assert saved.run == RunConfig(epochs=1, **OPTIONS)
    members = read_npz(saved.path, what="checkpoint")
    assert all(a.dtype != object for a in members.values())


@pytest.fixture
def saved(tmp_path):
    X, y = data()
    Trainer(network(), epochs=1, callbacks=[*schedule(), Checkpoint(tmp_path / "run")], **OPTIONS).run(X, y)
    return latest_checkpoint(tmp_path / "run")


def test_a_newer_format_version_is_refused(saved):
    rewrite_header(saved, lambda h: h.update(version=VERSION + 1))
    with pytest.raises(InputError, match=f"format version {VERSION + 1}, newer .* upgrade xprop"):
        load_checkpoint(saved)
    rewrite_header(saved, lambda h: h.update(version="1.0"))
    with pytest.raises(InputError, match="unknown format version"):
        resume(saved)


def test_files_that_are_not_checkpoints_are_refused(tmp_path, saved):
    other = tmp_path / "model.npz"
    np.savez(other, w=np.zeros(3))
    with pytest.raises(InputError, match="not an xprop checkpoint"):
        load_checkpoint(other)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"this is not a zip archive")
    with pytest.raises(InputError, match="damaged or not an .npz"):
        load_checkpoint(junk)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, **{"header.json": np.array([{"format": "xprop-checkpoint"}], dtype=object)})
    with pytest.raises(InputError, match="Python objects.*never unpickles"):
        load_checkpoint(pickled)
    rewrite_header(saved, lambda h: h["trainer"].pop("rng"))
    with pytest.raises(InputError, match="damaged.*rng"):
        load_checkpoint(saved)


def test_a_header_claiming_a_huge_array_is_refused_before_allocating(tmp_path):
    """An .npy header in the archive that claims 10^12 float64 values: refused from the
    archive's member size, without allocating."""
    import io
    import zipfile

    honest = io.BytesIO()
    np.save(honest, np.zeros(4))
    claim = b"'shape': (1000000000000,), }"
    forged = honest.getvalue().replace(b"'shape': (4,), }" + b" " * (len(claim) - 16), claim)
    assert forged != honest.getvalue()
    path = tmp_path / "huge.npz"
    with zipfile.ZipFile(path, "w") as archive:  # a consistent archive (CRC and all)
        archive.writestr("w.npy", forged)
    with pytest.raises(InputError, match=r"claims shape \(1000000000000,\)"):
        read_npz(path)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_mutated_checkpoints_give_a_clear_error_or_load(tmp_path, saved, data):
    """Random damage to a real checkpoint: flipped bytes, truncation, or both. Loading
    either succeeds (damage in unused bytes) or raises InputError, never anything else."""
    raw = bytearray(saved.read_bytes())
    for _ in range(data.draw(st.integers(0, 8))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    raw = raw[:data.draw(st.integers(0, len(raw)))]
    damaged = tmp_path / "damaged.npz"
    damaged.write_bytes(bytes(raw))
    try:
        load_checkpoint(damaged)
    except InputError as error:
        assert str(damaged) in str(error)


def test_resume_refuses_what_would_not_continue_the_run(tmp_path, saved):
    with pytest.raises(InputError, match="no checkpoint in"):
        resume(tmp_path)
    rebuilt = resume(saved, checkpoint=False)  # no stateful callbacks given: rebuilt from the file
    assert [type(c).__name__ for c in rebuilt.callbacks] == ["ReduceOnPlateau", "EarlyStopping"]
    assert [c.settings() for c in rebuilt.callbacks] == [c.settings() for c in schedule()]
    with pytest.raises(InputError, match=r"callbacks \[ReduceOnPlateau, EarlyStopping\].*\[EarlyStopping\]"):
        resume(saved, callbacks=[schedule()[1]], checkpoint=False)
    with pytest.raises(InputError, match="ReduceOnPlateau was saved with .*patience"):
        resume(saved, callbacks=[ReduceOnPlateau(patience=2, metric="training_cost"),
                                 EarlyStopping(patience=3, metric="training_accuracy")], checkpoint=False)
    wider = Trainer(Network([6, 9, 4]), epochs=2, callbacks=schedule(), **OPTIONS)
    with pytest.raises(InputError, match="shapes .* another network"):
        wider.load_state_dict(load_checkpoint(saved).state)


def test_numpy_scalars_as_options_are_saved_as_plain_numbers(tmp_path):
    """Options often come from numpy (np.int64 from a grid, say): they must not break
    the JSON header after an epoch of work."""
    X, y = data()
    plateau = ReduceOnPlateau(patience=np.int64(1), factor=np.float32(2), metric="training_cost")
    Trainer(network(), epochs=np.int64(2), callbacks=[plateau, Checkpoint(tmp_path)],
            **{**OPTIONS, "batch_size": np.int32(7), "eta": np.float64(3.0), "monitor": ["training_cost"]}).run(X, y)
    saved = load_checkpoint(latest_checkpoint(tmp_path))
    assert saved.run.epochs == 2 and saved.run.batch_size == 7 and type(saved.run.batch_size) is int
    assert saved.state["callbacks"][0]["state"]["settings"]["patience"] == 1


def test_a_state_that_does_not_fit_leaves_the_trainer_untouched(saved):
    state = load_checkpoint(saved).state
    state["rng"] = {"bit_generator": "MT19937", "state": {"key": [1, 2]}}
    trainer = Trainer(Network([6, 8, 4], seed=9), epochs=2, callbacks=schedule(), **OPTIONS)
    before = host(trainer.network)
    with pytest.raises(InputError, match="trainer state is damaged"):
        trainer.load_state_dict(state)
    assert all(np.array_equal(a, b) for a, b in zip(before, host(trainer.network)))
    assert trainer.epoch == 0 and len(trainer.history) == 0


def test_a_checkpoint_of_the_first_format_loads_resumes_and_evaluates(tmp_path, saved):
    """Checkpoints written by xprop's first format (the state with its options, in
    "xprop-checkpoint" files) still load, resume and evaluate."""
    X, y = data()
    new = load_checkpoint(saved)
    state = {**new.state, "options": {"epochs": new.run.epochs, "batch_size": new.run.batch_size,
                                      "lmbda": new.run.lmbda, "momentum": new.run.momentum,
                                      "monitor": list(new.run.monitor)}}
    old = tmp_path / "old" / checkpoint_name(new.epoch)
    old.parent.mkdir()
    write_document(old, {"format": "xprop-checkpoint", "version": 1, "network": new.network,
                         "backend": "numpy", "state": state, "metadata": {"mine": 1}})
    loaded = load_checkpoint(old)
    assert loaded.version == 1 and loaded.run == new.run and loaded.metadata == {"mine": 1}
    assert all(np.array_equal(a, b) for a, b in zip(loaded.weights + loaded.biases, new.weights + new.biases))
    assert load_model(old).config() == new.network
    from_old, from_new = resume(old.parent, epochs=2), resume(saved, epochs=2, checkpoint=tmp_path / "new")
    from_old.run(X, y), from_new.run(X, y)
    assert all(np.array_equal(a, b) for a, b in zip(*(sum(t.network.parameters_to_host(), [])
                                                      for t in (from_old, from_new))))
    assert latest_checkpoint(old.parent).name == checkpoint_name(2)
    assert load_checkpoint(latest_checkpoint(old.parent)).version == VERSION


INPUTS = {"mean": np.linspace(0, 1, 6, dtype=np.float32), "std": np.full(6, 2.0, np.float32)}
CLASSES = ["north", "east", "south", "west"]


def test_checkpoints_keep_the_networks_optional_parts_where_model_files_do(tmp_path):
    """The standardization and class names given to Checkpoint are in every file's network
    part, not its metadata; resume carries them into the files of the resumed run."""
    X, y = data()
    callback = Checkpoint(tmp_path / "run", inputs=INPUTS, classes=CLASSES, metadata={"mine": 1})
    Trainer(network(), epochs=2, callbacks=[callback], **OPTIONS).run(X, y)
    document, _ = read_document(latest_checkpoint(tmp_path / "run"))
    assert document["network"]["classes"] == CLASSES and document["metadata"] == {"mine": 1}
    np.testing.assert_array_equal(document["network"]["inputs"]["mean"], INPUTS["mean"])
    resume(tmp_path / "run", epochs=3).run(X, y)
    saved = load_checkpoint(latest_checkpoint(tmp_path / "run"))
    assert saved.epoch == 3 and saved.classes == CLASSES and saved.metadata == {"mine": 1}
    np.testing.assert_array_equal(saved.inputs["std"], INPUTS["std"])


def test_optional_parts_that_do_not_fit_the_network_are_refused_before_the_first_epoch(tmp_path):
    X, y = data()
    trainer = Trainer(network(), epochs=2, callbacks=[Checkpoint(tmp_path / "run", classes=CLASSES + ["up"])],
                      **OPTIONS)
    with pytest.raises(InputError, match="classes: must be a list of at most 4 names") as refused:
        trainer.run(X, y)
    assert "\n" not in str(refused.value) and trainer.epoch == 0
    assert list_checkpoints(tmp_path / "run") == []


@pytest.mark.parametrize("writer", [TRAIN_METADATA, None], ids=["xprop-train", "another"])
def test_optional_parts_in_an_older_xprop_train_checkpoints_metadata_are_read(saved, writer):
    """xprop train's checkpoints kept the standardization and class names in the metadata,
    as JSON, before they had the network's place: the reader takes them from there. The
    same keys in the metadata of another writer are that writer's own, and left alone."""
    extras = {"inputs": {k: v.tolist() for k, v in INPUTS.items()}, "classes": CLASSES}
    rewrite_header(saved, lambda h: h.update(metadata={"format": writer, **extras}))
    loaded = read_file(saved)
    if writer is None:
        assert loaded.extras == {} and loaded.metadata == {"format": None, **extras}
        return
    assert loaded.classes == CLASSES and loaded.metadata == {"format": writer}
    np.testing.assert_array_equal(loaded.inputs["mean"], INPUTS["mean"])


def test_damaged_optional_parts_in_an_older_checkpoints_metadata_name_the_field(saved):
    rewrite_header(saved, lambda h: h.update(metadata={"format": TRAIN_METADATA, "inputs": {"mean": [0.0]}}))
    with pytest.raises(FileFormatError, match="is damaged: metadata.inputs: must hold the arrays mean and std"):
        load_checkpoint(saved)


def test_a_model_file_is_not_a_checkpoint_but_a_checkpoint_is_a_model(tmp_path, saved):
    model = save_model(network(), tmp_path / "m.npz")
    with pytest.raises(FileFormatError, match="model file, not an xprop checkpoint"):
        load_checkpoint(model)
    net = load_model(saved)
    assert net.config() == load_checkpoint(saved).network
