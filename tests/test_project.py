"Project-level checks that do not fit in a notebook: packaging, docs configuration, README sync, console scripts."
import configparser, os, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def settings():
    p = configparser.ConfigParser(delimiters=['='])
    p.read(ROOT/'settings.ini')
    return p['DEFAULT']


def test_settings_pin_nbdev2_and_declare_test_flags():
    s = settings()
    test_flags = s['tst_flags'].split()
    assert 'slow' in test_flags and 'cuda' in test_flags
    dev = s['dev_requirements'].split()
    assert 'nbdev>=2.3,<3' in dev and any(r.startswith('execnb') and r.endswith('<0.2') for r in dev)
    assert any(r.startswith('fastcore') and r.endswith('<2') for r in s['requirements'].split())


def test_quarto_config_is_the_root_file():
    link = ROOT/'nbs'/'_quarto.yml'
    assert link.is_symlink() and link.resolve() == (ROOT/'_quarto.yml').resolve()


def test_readme_is_index_notebook():
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'readme.py'), '--check'], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_exported_modules_have_no_undefined_names():
    "A name a notebook defines in a cell that is not exported works in the notebook and fails in the module: pyflakes finds it."
    import ast
    from pyflakes import checker, messages
    bad = []
    for f in sorted((ROOT/'mplug_nb').glob('*.py')):
        found = checker.Checker(ast.parse(f.read_text(), str(f)), filename=str(f)).messages
        bad += [f'{f.name}:{m.lineno}: {m.message % m.message_args}' for m in found if isinstance(m, messages.UndefinedName)]
    assert not bad, '\n'.join(bad)


def _own_returns(func) -> list:
    "The `return <value>` statements of a function's own body (not of functions defined inside it)."
    import ast
    found, todo = [], list(func.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)): continue
        if isinstance(node, ast.Return) and node.value is not None: found.append(node)
        todo.extend(ast.iter_child_nodes(node))
    return found


def test_console_scripts_return_nothing():
    "A console script runs sys.exit(fn()): a function that returns a value ends the command with status 1, the value on stderr."
    import ast, importlib, inspect, textwrap
    bad = []
    for entry in settings()['console_scripts'].split():
        name, target = entry.split('=')
        module, fn = target.split(':')
        func = ast.parse(textwrap.dedent(inspect.getsource(getattr(importlib.import_module(module), fn)))).body[0]
        if _own_returns(func): bad.append(f'{name} -> {target}')
    assert not bad, bad


SCRIPTS = ('mplug_nb_shapes', 'mplug_nb_run', 'mplug_nb_bench', 'mplug_nb_pretrain', 'mplug_nb_finetune', 'mplug_nb_eval',
           'mplug_nb_results', 'mplug_nb_ablation', 'mplug_nb_caption', 'mplug_nb_vqa', 'mplug_nb_ground')

def test_installed_package_imports_and_scripts(tmp_path):
    code = ('import mplug_nb; from mplug_nb.world import *; from mplug_nb.data import *; from mplug_nb.model import *; '
            'from mplug_nb.generation import *; from mplug_nb.learner import *; from mplug_nb.pretrain import *; print(mplug_nb.__version__)')
    r = subprocess.run([sys.executable, '-c', code], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    for script in SCRIPTS:
        r = subprocess.run([str(BIN/script), '--help'], cwd=tmp_path, capture_output=True, text=True)
        assert r.returncode == 0 and r.stdout.startswith(f'usage: {script}'), (script, r.stdout, r.stderr)


def test_main_job_keeps_an_existing_run(tmp_path):
    # the whole job runs in nbs/90_run (on a nano model); here: the installed command refuses to overwrite a run
    (tmp_path/'run').mkdir(); (tmp_path/'run'/'times.json').write_text('{}')
    r = subprocess.run([str(BIN/'mplug_nb_run'), '--out', str(tmp_path/'run')], capture_output=True, text=True,
                       env={**os.environ, 'MPLBACKEND': 'Agg'})
    assert r.returncode != 0 and 'pass --resume' in r.stderr, r.stderr[-2000:]
    assert (tmp_path/'run'/'times.json').read_text() == '{}'


def test_nbdev_proc_nbs_processes_every_notebook():
    # nbdev_proc_nbs first tries to install Quarto (fails without sudo) and `pip install -e .[dev]` with the `pip`
    # on PATH: put this environment's bin first so that is a no-op in our own venv.
    env = {**os.environ, 'PATH': f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    r = subprocess.run([str(BIN/'nbdev_proc_nbs')], cwd=ROOT, capture_output=True, text=True, env=env, timeout=1200)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    notebooks = {p.name for p in (ROOT/'nbs').glob('*.ipynb') if not p.name.startswith('_')}
    processed = {p.name for p in (ROOT/'_proc').glob('*.ipynb')}
    assert notebooks and notebooks <= processed, notebooks - processed
    assert (ROOT/'_proc'/'_quarto.yml').read_text() == (ROOT/'_quarto.yml').read_text()


def test_sidebar_lists_every_notebook_once_in_sections():
    "The site's sidebar is written by hand (custom_sidebar), in sections: a notebook missing from it has no page link."
    import yaml
    assert settings()['custom_sidebar'] == 'True'
    contents = yaml.safe_load((ROOT/'nbs'/'sidebar.yml').read_text())['website']['sidebar']['contents']
    listed = [c for c in contents if isinstance(c, str)] + [n for c in contents if isinstance(c, dict) for n in c['contents']]
    assert sorted(c['section'] for c in contents if isinstance(c, dict)) == sorted(
        ['Foundations', 'The model', 'Training', 'Tasks', 'Official checkpoints', 'Results and benchmarks'])
    notebooks = sorted(p.name for p in (ROOT/'nbs').glob('*.ipynb') if not p.name.startswith('_'))
    assert sorted(listed) == notebooks, (set(notebooks) - set(listed), set(listed) - set(notebooks))


def test_paper_map_names_exist():
    "Every name in the README's table of paper terms (from nbs/index.ipynb) imports, so each term is one lookup away."
    import importlib, re
    section = (ROOT/'README.md').read_text().split('## The paper, term by term', 1)[1].split('\n## ', 1)[0]
    names = re.findall(r'`mplug_nb\.(\w+)\.(\w+)`', section)
    missing = [f'mplug_nb.{m}.{n}' for m, n in names if not hasattr(importlib.import_module(f'mplug_nb.{m}'), n)]
    assert len(names) > 20 and not missing, missing
