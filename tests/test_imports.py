"Import direction: the model path loads no UI library, and every module imports only modules of earlier notebooks."
import ast, json, re, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).parent.parent
PKG, NBS = ROOT/'mplug_nb', ROOT/'nbs'

def test_model_loads_no_ui():
    "A fresh interpreter imports `mplug_nb.model` without matplotlib or ipywidgets."
    code = ("import sys; import mplug_nb.model; "
            "print(sorted(m for m in ('matplotlib', 'ipywidgets') if m in sys.modules))")
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == '[]', f"importing mplug_nb.model loaded {out.stdout.strip()}"

def notebook_of() -> dict[str, str]:
    "Module name -> the notebook that exports it (its `#| default_exp`)."
    out = {}
    for nb in sorted(NBS.glob('*.ipynb')):
        for c in json.loads(nb.read_text())['cells']:
            m = re.search(r'^#\|\s*default_exp\s+(\S+)', ''.join(c['source']), flags=re.M)
            if c['cell_type'] == 'code' and m: out[m[1]] = nb.name; break
    return out

def imported_modules(source: str) -> set[str]:
    "The `mplug_nb` modules that Python `source` imports anywhere (top level or inside functions), by module name."
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1: names = [node.module] if node.module else [a.name for a in node.names]
            elif (node.module or '').startswith('mplug_nb.'): names = [node.module[len('mplug_nb.'):]]
            elif node.module == 'mplug_nb': names = [a.name for a in node.names]
            else: continue
        elif isinstance(node, ast.Import):
            names = [a.name[len('mplug_nb.'):] for a in node.names if a.name.startswith('mplug_nb.')]
        else: continue
        found |= {n.split('.')[0] for n in names if n}
    return found

def uphill() -> list[str]:
    "Each import of a module whose notebook does not sort before the importer's, as 'a (nb) -> b (nb)'."
    nbs, bad = notebook_of(), []
    for mod, nb in sorted(nbs.items()):
        for dep in sorted(imported_modules((PKG/f'{mod}.py').read_text()) & set(nbs)):
            if dep != mod and not nbs[dep] < nb: bad.append(f"{mod} ({nb}) -> {dep} ({nbs[dep]})")
    return bad

def test_modules_are_mapped():
    "Every generated module has a notebook, so that the order test below sees it."
    mods = {p.stem for p in PKG.glob('*.py') if not p.stem.startswith('_')}
    assert mods <= set(notebook_of()), sorted(mods - set(notebook_of()))

def test_imports_run_downhill():
    "A module imports only modules of earlier notebooks (nbdev reads the notebooks in name order)."
    assert uphill() == []

def notebook_imports(nb: Path) -> set[str]:
    "The `mplug_nb` modules that the code cells of notebook `nb` import (exported or not; magics left out)."
    cells = [c for c in json.loads(nb.read_text())['cells'] if c['cell_type'] == 'code']
    return imported_modules('\n'.join(l for c in cells for l in ''.join(c['source']).splitlines()
                                       if not l.lstrip().startswith(('%', '!'))))

def test_notebooks_import_downhill():
    "A notebook's cells, tests and pictures included, import only modules of itself and earlier notebooks."
    nbs, bad = notebook_of(), []
    for nb in sorted(NBS.glob('*.ipynb')):
        bad += [f"{nb.name} -> {dep} ({nbs[dep]})" for dep in sorted(notebook_imports(nb) & set(nbs)) if nbs[dep] > nb.name]
    assert bad == [], bad
