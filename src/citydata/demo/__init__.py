"""``citydata demo``: the whole city pipeline in one process tree, on embedded defaults."""
