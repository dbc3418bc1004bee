"""AI backends behind one activity, `ai_turn`: `rules` (embedded, offline) and `openai` (any compatible
endpoint)."""
