"""The help texts of ``heatoverlay`` and ``heatoverlay demo``."""

PROG = "heatoverlay"

USAGE = f"""{PROG} IMAGE HEATMAP -o OUT [--figure FIG] [options]
       {PROG} IMAGE HEATMAP [HEATMAP ...] --figure FIG [options]
       {PROG} IMAGE FEATURES --montage GRID [--channel A:B[:S]] [options]
       {PROG} FRAMES MAPS -o MOVIE.mp4|MOVIE.gif [--fps FPS] [options]
       {PROG} IMAGES_DIR HEATMAPS_DIR -o OUT_DIR [options]
       {PROG} demo [-o OUT] [--figure FIG] [options]"""

DESCRIPTION = """\
Lay a heatmap over an image with transparency and write the result.

IMAGE is any picture imageio reads (PNG, JPEG, TIFF, BMP, ...). HEATMAP is a
feature file (.npy, .npz, .pt, .pth, .safetensors; read like the napari
plugin reads it, never unpickled) or an image file, whose luminance
0.2125 R + 0.7154 G + 0.0721 B is the heat (alpha is ignored). It may be
coarser than the image: it covers the same field of view and is resampled."""

EPILOG = f"""\
examples:
  {PROG} cat.jpg gradcam.npy -o cat_overlay.png
  {PROG} cat.jpg layer4.pt --reduce mean --norm percentile -o overlay.jpg
  {PROG} cat.jpg features.npz --key layer3 --channel 12 --colormap magma -o out.tif
  {PROG} cat.jpg logits.npy --norm sigmoid --mode scaled --threshold 0.2 \\
      -o overlay.png --figure figure.pdf
  {PROG} cat.jpg gradcam.npy ig.npy occlusion.npy --figure methods.pdf \\
      --norm cumulative --sign positive       (one row per method)
  {PROG} cat.jpg gradcam.npy -o outlined.png --contours 0.5,0.8
  {PROG} cat.jpg layer4.pt --montage channels.png --channel 0:16
  {PROG} frames.tif maps.npy -o movie.mp4 --fps 12 --contours 0.6
  {PROG} images/ heatmaps/ -o overlays/ --alpha 0.4 --format jpg
  {PROG} images/ heatmaps/ -o overlays/ --skip-existing     (resume a batch)
  {PROG} slide.zarr tumour_probability.npy -o overlay.zarr --norm none
  {PROG} demo                 open napari with the sample data and the widget
  {PROG} demo -o demo.png     write the sample overlay, no display needed
  {PROG} demo -o demo.gif     write the sample movie

heatmaps with several maps:
  A file holding several arrays (.npz, a state dict) needs --key NAME unless
  it holds exactly one. A map with a channel axis of more than one channel,
  (C, h, w) or (N, C, h, w), needs --channel K or --reduce mean|max|l2|sum:
  the command stops and lists them rather than guess. A map without a
  channel axis counts as one channel, so --channel 0 and --reduce work on it.
  --montage GRID.png draws one overlay per channel in a labelled grid, all on
  one colour scale; --channel A:B[:S] (Python's slice) picks the channels.

outputs:
  -o picks the format by suffix: .png, .jpg/.jpeg (quality 95), .tif/.tiff,
  or .zarr for images larger than memory: IMAGE may then be a .zarr array or
  multiscale group (levels 0, 1, ...), the overlay is streamed to a chunked
  (multiscale) store chunk by chunk, and the store appears only when whole.
  A frame stack (a TIFF stack, or a zarr array with time first) takes its
  maps as a movie does: (T, h, w) gives each frame its own map, all on one
  colour scale.
  --figure writes the three-panel figure (image | heatmap | overlay, colour
  bar in heatmap units) as .pdf, .png or .svg, in addition to -o or alone.
  --contours 0.5,0.8 draws the iso-lines of the normalised heat n (in [0, 1])
  into -o and --figure, and marks them on the figure's colour bar. Every
  pair of a folder run gets them, each slice of a stack or volume its own,
  and a .zarr store gets them drawn chunk by chunk.
  An existing file is never replaced without --force (or skipped with
  --skip-existing), a missing folder is never created without --parents, and
  every file is written to a hidden temporary name and then renamed, so it
  is whole or absent.

movies:
  -o MOVIE.mp4 (H.264; needs pip install "napari-heatoverlay[video]") or
  MOVIE.gif writes one frame per map of HEATMAP (T, h, w), or (T, C, h, w)
  with --channel or --reduce, over FRAMES: a (T, Y, X[, 3]) TIFF stack, a zarr
  array whose first axis is time, or one picture for every frame (a single
  map lies over every frame). One colour scale for the whole movie; frames
  are read, blended and encoded one at a time, so memory does not grow with
  the movie's length.

folders:
  Files are paired by name without suffix (cat.png with cat.npy); overlays
  go to OUT_DIR/<name>.<format> (OUT_DIR is created if its parent exists). A
  broken pair is reported and skipped; unpaired files are listed at the end.
  Pairs run in --jobs processes (default: all CPUs).

exit status:
  0 done; 1 an input could not be read, an output could not be written, or a
  pair failed; 2 the command line needs fixing (a bad option or value, a
  missing input, an existing output without --force); 130 interrupted
  (Ctrl-C), 143 terminated. --debug shows the Python traceback of an error."""

DEMO_DESCRIPTION = """\
Without -o or --figure: open napari with the sample photo and heatmap and the
"Heat overlay" widget docked, the overlay already shown (needs napari and
Qt); overlay flags set the widget's controls. With -o and/or --figure: write
the sample overlay and/or figure instead; no display needed. -o demo.mp4 or
demo.gif writes the sample movie, --montage grid.png the sample's 16
channels."""

DEMO_EPILOG = f"""\
examples:
  {PROG} demo
  {PROG} demo --mode scaled --alpha 0.9
  {PROG} demo -o demo.png
  {PROG} demo --norm symmetric --colormap coolwarm --figure demo.pdf
  {PROG} demo --contours 0.5,0.8 -o outlined.png
  {PROG} demo -o demo.gif --fps 15
  {PROG} demo --montage channels.png"""
