"""`train_tokenizer` must write the same vocabulary in every process.

The Rust `tokenizers` trainer iterates over hash maps seeded per process, and its raw vocabulary differs between
runs; `mplug_nb.data.train_tokenizer` keeps only what does not depend on that. A notebook cell runs in one process,
so this check lives here.
"""
import subprocess, sys

SCRIPT = r'''
import hashlib
from mplug_nb.tokenizer import train_tokenizer, vocab_tokens
words = "a the red green blue yellow circle square triangle cross is left right of above below what color shape how many".split()
texts = [" ".join(words[(7 * k + 3 * j) % len(words)] for j in range(9)) + "?" for k in range(200)] + ["two [SEP]", "Three shapes."]
print(hashlib.sha256("\n".join(vocab_tokens(train_tokenizer(texts, 300))).encode()).hexdigest())
'''

def test_train_tokenizer_is_deterministic_across_processes():
    outs = [subprocess.run([sys.executable, '-c', SCRIPT], capture_output=True, text=True, check=True).stdout.strip()
            for _ in range(2)]
    assert len(set(outs)) == 1 and len(outs[0]) == 64, outs
