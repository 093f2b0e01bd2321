"""Shaozi's core: settings, city configuration, domain rules, photos and languages."""
