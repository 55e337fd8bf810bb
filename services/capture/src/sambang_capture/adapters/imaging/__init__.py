"""Reading images: formats and headers from the bytes (no decoding), then decoding and measuring."""
