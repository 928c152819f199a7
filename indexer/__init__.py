"""Turns published knowledge records into immutable search-index generations."""
