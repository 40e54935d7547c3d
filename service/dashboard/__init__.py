"""Kith's own dashboard at `/`: sign in with a token, ties to deepen, a strength-vs-balance chart,
a tie's weekly timeline and account health, rendered on the server."""
