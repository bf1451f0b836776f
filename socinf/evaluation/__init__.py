"""Evaluation on balanced members / non-members: attack metrics and the collision ceiling."""
