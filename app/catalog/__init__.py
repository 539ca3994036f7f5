"""The shop's catalog: products, their size × colour variants with stock, and photos."""
