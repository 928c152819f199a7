"""Channel adapters: verify → parse → (engine) → render → send, one module per platform."""
