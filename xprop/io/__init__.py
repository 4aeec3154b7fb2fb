"""Files: the one .npz codec, atomic writes, model files and checkpoints.

- ``atomic``: write a file so that a crash never leaves half of it;
- ``npz``: read and write .npz archives as data, never as code (and JSON documents in them);
- ``modelfile``: the one format of a network on disk (a model, or a model with its
  trainer's state: a checkpoint), its writer and its reader, on host arrays and names;
- ``networks``: a Network to such a file and back (``Network.save``, ``xprop.load``);
- ``checkpoint``: checkpoints after every epoch, and resuming a run from them.
"""
