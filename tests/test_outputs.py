"""Every notebook's committed outputs are what the documentation site shows: they must read cleanly.

The scan looks at each code cell's outputs in `nbs/*.ipynb` (text streams, text / markdown / html results, errors;
not images) for what a reader should never see: absolute paths of the machine that ran the notebook, tracebacks,
warnings, progress-bar residue, and argparse usage blocks printed on stderr (they show as pink error boxes).
A failure lists the offenders by notebook and cell (index in the notebook, counted from 0, and the cell id).

    python -m pytest -q tests/test_outputs.py                 # every notebook
    python tests/test_outputs.py nbs/12_pretrain.ipynb        # a plain listing, for one or more notebooks
"""
import json, re, sys
from pathlib import Path
import pytest

NBS = Path(__file__).resolve().parents[1] / 'nbs'

RESIDUE = {
    'machine path': re.compile(r'/tmp/|/home/|/work/|/root/|/usr/(?:local/)?lib/|site-packages|\.venv\b'),
    'traceback': re.compile(r'Traceback \(most recent call last\)|^\w*Error: ', re.M),
    'warning': re.compile(r'\b\w*Warning\b'),
    'progress bar': re.compile(r'\r|\d%\||it/s\]|s/it\]|<progress\b'),
}
USAGE = re.compile(r'^usage: ', re.M)        # argparse's usage line, on stderr (an error or --help sent to the wrong stream)

def _texts(output: dict):
    "(what, text) of each readable part of a notebook output: stream text, text-like results, an error's traceback."
    kind = output.get('output_type')
    if kind == 'stream':
        yield output.get('name', 'stdout'), ''.join(output.get('text', ''))
    elif kind in ('execute_result', 'display_data'):
        for mime, v in output.get('data', {}).items():
            if mime.startswith('text/') or mime.endswith('json'):
                yield mime, v if isinstance(v, str) else ''.join(v) if isinstance(v, list) else json.dumps(v)
    elif kind == 'error':
        yield 'error', '\n'.join([f"{output.get('ename')}: {output.get('evalue')}", 'Traceback (most recent call last)',
                                  *output.get('traceback', [])])

def _snippet(text: str, m: re.Match, width: int = 50) -> str:
    return repr(text[max(0, m.start() - width):m.end() + width])

def offenders(path) -> list[str]:
    "One line per residue found in notebook `path`'s outputs: `cell N (id): kind: snippet`."
    nb, found = json.loads(Path(path).read_text()), []
    for i, cell in enumerate(nb['cells']):
        for output in cell.get('outputs', []):
            for what, text in _texts(output):
                checks = dict(RESIDUE)
                if what == 'stderr': checks['usage block on stderr'] = USAGE
                for kind, pattern in checks.items():
                    if m := pattern.search(text): found.append(f"cell {i} ({cell.get('id', '?')}): {kind} in {what}: {_snippet(text, m)}")
    return found

NOTEBOOKS = sorted(NBS.glob('*.ipynb'))

def test_there_are_notebooks():
    assert len(NOTEBOOKS) > 20, NOTEBOOKS

@pytest.mark.parametrize('path', NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_outputs_read_cleanly(path):
    found = offenders(path)
    assert not found, f"{path.name}: {len(found)} outputs hold residue:\n" + '\n'.join(found)

def test_the_scan_finds_residue(tmp_path):
    "The scan can fail: a notebook with each kind of residue is listed once per kind."
    out = lambda text, name='stdout': {'output_type': 'stream', 'name': name, 'text': text}
    cells = [{'cell_type': 'code', 'id': 'aaaa0000', 'source': '', 'outputs': [out('/tmp/tmpx1y2/sw written\n')]},
             {'cell_type': 'code', 'id': 'aaaa0001', 'source': '', 'outputs': [out('a.py:3: UserWarning: careful\n', 'stderr')]},
             {'cell_type': 'code', 'id': 'aaaa0002', 'source': '', 'outputs': [out(' 50%|#####     | 5/10 [00:01<00:01, 4.2it/s]\r')]},
             {'cell_type': 'code', 'id': 'aaaa0003', 'source': '', 'outputs': [out('usage: prog [-h]\nprog: error: bad\n', 'stderr')]},
             {'cell_type': 'code', 'id': 'aaaa0004', 'source': '', 'outputs': [{'output_type': 'error', 'ename': 'ValueError',
                                                                               'evalue': 'no', 'traceback': []}]},
             {'cell_type': 'code', 'id': 'aaaa0005', 'source': '', 'outputs': [out('usage: the same words on stdout are fine\n'),
                                                                              {'output_type': 'display_data', 'data': {'image/png': '/tmp/'}}]}]
    nb = tmp_path / 'x.ipynb'
    nb.write_text(json.dumps({'cells': cells}))
    kinds = [line.split(': ')[1] for line in offenders(nb)]
    assert kinds == ['machine path in stdout', 'warning in stderr', 'progress bar in stdout', 'usage block on stderr in stderr',
                     'traceback in error'], offenders(nb)

if __name__ == '__main__':
    for p in (map(Path, sys.argv[1:]) if sys.argv[1:] else NOTEBOOKS):
        for line in offenders(p): print(f'{p.name}: {line}')
