"""Where builds are kept on this machine (``curator.storage.local``)."""
