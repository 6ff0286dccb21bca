"""Reading and writing: COCO JSON, PNG, TIFF, NumPy files. No mask computation lives here."""
