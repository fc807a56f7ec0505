"""Run notebooks top to bottom in place, keeping their outputs (what the docs site shows), then clean them.

    .venv/bin/python tools/execute_nbs.py nbs/01c_world.ipynb [more.ipynb ...] [--flags slow]

Cells flagged with a `tst_flags` flag (`#| slow`, `#| cuda`) are skipped, as `nbdev_test` skips them, unless the
flag is passed with `--flags`; their previous outputs are kept. `--only REGEX` runs just the flagged cells whose
source matches REGEX (the others keep their outputs), to refresh one slow result without re-running every other.
"""
import argparse, os, re, sys, time
from pathlib import Path
from execnb.nbio import read_nb, write_nb
from execnb.shell import CaptureShell

def _flags(cell):
    return set(re.findall(r'^#\|\s*(slow|cuda)\s*$', cell.source, flags=re.M))

def execute(path: Path, flags=(), only: str | None = None):
    nb = read_nb(path)
    cwd = os.getcwd()
    os.chdir(path.parent)
    try:
        shell = CaptureShell(path, mpl_format='png')              # not retina: keeps committed figures small
        shell.run('%matplotlib inline')
        for cell in nb.cells:
            if cell.cell_type != 'code' or (_flags(cell) - set(flags)): continue
            if only and _flags(cell) and not re.search(only, cell.source): continue
            shell.cell(cell)
            errs = [o for o in cell.get('outputs', []) if o.get('output_type') == 'error']
            if errs: raise RuntimeError(f"{path}: cell failed:\n{cell.source}\n\n" + '\n'.join(errs[0].get('traceback', [])))
    finally: os.chdir(cwd)
    write_nb(nb, path)

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('paths', nargs='+', type=Path)
    p.add_argument('--flags', nargs='*', default=[], help='run cells with these flags too (slow, cuda)')
    p.add_argument('--only', default=None, help='of the flagged cells, run only those whose source matches this regex')
    a = p.parse_args()
    for path in a.paths:
        t = time.time()
        execute(path.resolve(), a.flags, a.only)
        print(f"{path}: {time.time() - t:.1f}s")
    from nbdev.clean import nbdev_clean
    for path in a.paths: nbdev_clean(str(path))

if __name__ == '__main__': main()
