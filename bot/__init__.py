"""Answer engine and channel adapters of Trợ lý TTHC."""
