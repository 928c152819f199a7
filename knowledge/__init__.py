"""Source of truth of Trợ lý TTHC: procedures, hotlines, plans, FAQ and revisions."""
