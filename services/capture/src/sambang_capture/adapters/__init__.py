"""What capture asks of outside code: image decoding and analysis (OpenCV), the one CPU-bound system it uses."""
