"""Customer photo intake and identification: safe decoding, perceptual hashes, photo index."""
