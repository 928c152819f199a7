"""The channel-neutral answer engine: a Question in, an Answer out."""
