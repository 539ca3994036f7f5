"""The panel's pages, one controller per section."""
