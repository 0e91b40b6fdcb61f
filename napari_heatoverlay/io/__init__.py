"""Files: safe feature arrays, images, and every output writer. No Qt."""
