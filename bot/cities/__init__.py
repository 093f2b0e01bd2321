"""Shipped city configurations."""
