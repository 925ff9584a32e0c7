"""The pure domain core: no I/O, no clock, no framework; stdlib, attrs and numpy only."""
