"""AI backends behind one call, `AiActivities.turn`: `rules` (embedded, offline) and `openai` (any compatible
endpoint)."""
