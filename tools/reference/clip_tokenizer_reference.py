#!/usr/bin/python3
"""Golden files for stablerep-models' ClipTokenizer tests.

The reference is openai/CLIP's own clip/simple_tokenizer.py (its BPE, its regex, its cleanup),
loaded at run time from a checkout of openai/CLIP named by the environment variable CLIP_SRC
(the folder that holds clip/simple_tokenizer.py; its code is not copied into this repository;
the goldens were made with openai/CLIP commit d05afc436d78f1c48dc0dbf8e5980a9d471f35f6).
It needs python3-regex. ftfy is not packaged in Debian, so `ftfy.fix_text` is stubbed as the
identity: that is what ftfy does to well-formed text, and mojibake cases are recorded with the
identity and marked as such. The real BPE table is read from CLIP_BPE (default: the copy that
stablerep-models ships in its resources).

Two cleanups are recorded, because the two references differ:
  openai        simple_tokenizer: fix_text, html.unescape twice, strip, whitespace, lower
  transformers  CLIPTokenizer (with ftfy): fix_text, whitespace, lower; no HTML unescaping.
The transformers variant is simple_tokenizer with its basic_clean's html.unescape removed,
which is transformers' `_tokenize` for the ftfy branch (diffusers' Stable Diffusion path).

Inputs: captions built from CLIP's prompt templates x class names (prompts.md, named by
CLIP_PROMPTS) plus hand-written hard cases, written to golden/clip_tokenizer/texts.json.

Outputs under stablerep-models/src/test/resources/golden/clip_tokenizer/:
  texts.json            [{"text", "kind"}]
  full.json             per text: openai ids, transformers ids, clip.tokenize(truncate=True)
                        row (77, zero padded), diffusers row (77, padded with <|endoftext|>),
                        openai decode of the openai ids
  small/vocab.json, small/merges.txt
                        a small vocabulary in Hugging Face's format: every byte symbol, a
                        seeded subset of the real merges, ids in shuffled order
  small.json            per text: transformers-cleanup ids with the small vocabulary
  unicode_classes.txt   run-length classes of every code point under the reference's regex
                        (s = \\s, L = \\p{L}, N = \\p{N}, o = other)
  lower.txt             every code point whose str.lower() is not itself: hex -> hex list

It also writes one data file into the main resources (not a golden: a table the Java code uses):
  stablerep-models/src/main/resources/io/github/stablerep/models/diffusion/clip/html5_entities.txt
      the HTML standard's named character references and numeric-reference replacement tables,
      as Python's html module holds them (html.entities.html5, html._invalid_charrefs,
      html._invalid_codepoints), which is what simple_tokenizer's html.unescape applies.

Run from the repository root:
  CLIP_SRC=/path/to/openai-CLIP CLIP_PROMPTS=/path/to/prompts.md \\
      /usr/bin/python3 tools/reference/clip_tokenizer_reference.py
"""
import gzip
import importlib.util
import json
import os
import random
import re as stdre
import sys
import types

OUT = os.path.join("stablerep-models", "src", "test", "resources", "golden", "clip_tokenizer")
BPE = os.environ.get(
    "CLIP_BPE", os.path.join("stablerep-models", "src", "main", "resources", "io", "github", "stablerep",
                             "models", "diffusion", "clip", "bpe_simple_vocab_16e6.txt.gz"))


def load_simple_tokenizer():
    src = os.environ["CLIP_SRC"]
    ftfy = types.ModuleType("ftfy")
    ftfy.fix_text = lambda text: text  # identity: ftfy is not packaged in Debian
    sys.modules["ftfy"] = ftfy
    spec = importlib.util.spec_from_file_location("clip_simple_tokenizer", os.path.join(src, "clip", "simple_tokenizer.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def captions(prompts_path, count, seed):
    """Templates x class names from CLIP's prompts.md, a seeded sample of `count`."""
    text = open(prompts_path, encoding="utf-8").read()
    sections = stdre.split(r"^## ", text, flags=stdre.M)[1:]
    pairs = []
    for section in sections:
        name = section.split("\n", 1)[0].strip()
        classes = block(section, "classes")
        templates = block(section, "templates")
        if classes and templates:
            pairs.append((name, classes, templates))
    rng = random.Random(seed)
    out = []
    while len(out) < count:
        _, classes, templates = pairs[rng.randrange(len(pairs))]
        c = classes[rng.randrange(len(classes))]
        t = templates[rng.randrange(len(templates))]
        caption = t.format(c)
        if caption not in out:
            out.append(caption)
    return out


def block(section, name):
    m = stdre.search(name + r" = \[(.*?)\n\]", section, flags=stdre.S)
    if not m:
        return []
    items = []
    for line in m.group(1).split("\n"):
        line = line.strip().rstrip(",")
        if line.startswith("'") or line.startswith('"'):
            items.append(eval(line))  # python string literals from the markdown code block
    return items


LONG = ("a highly detailed oil painting of a lighthouse on a rocky cliff at sunset, dramatic clouds, crashing "
        "waves, seagulls in flight, warm golden light, by a famous nineteenth century romantic landscape painter, "
        "trending on artstation, masterpiece, 8k resolution, ultra realistic, volumetric lighting, cinematic "
        "composition, wide angle lens, rule of thirds, vivid colours, intricate textures, award winning photograph")

HARD = [
    "", " ", "   \t\n  ", "\u00a0\u3000\u2028 \u0085", "\x1c\x1dseparators\x1e\x1f", "Hello, World!",
    "  leading and trailing spaces  ", "multiple     internal\t\tspaces\n\nand\r\nnewlines",
    "don't", "DON'T STOP", "it's", "we're they've I'm you'll he'd", "'quoted'", "rock'n'roll", "the dogs'",
    "isn't it's 'tis", "a photo of a cat.", "A PHOTO OF A DOG!!!", "?!?!...,,,;;;", "(parentheses) [brackets] {braces}",
    "3.14159", "1234567890", "2023-11-29 12:00:00", "$100.00 & 50% off", "#hashtag @mention", "C++ and C#",
    "e-mail@example.com", "https://example.com/path?q=1&r=2", "under_score snake_case camelCase",
    "café", "naïve résumé", "e\u0301te\u0301 (decomposed accents)", "Ångström", "Straße", "İstanbul",
    "ΟΔΟΣ ΣΟΦΟΣ", "Привет, мир!", "東京タワーの写真", "北京欢迎你", "한국어 텍스트", "مرحبا بالعالم", "שלום עולם",
    "हिन्दी में", "ไทย", "🐱🐶", "a photo of a 🐱", "👍🏽", "👨\u200d👩\u200d👧", "🇫🇷 flag", "zero\u200bwidth", "\ufeffBOM first",
    "¡¿Qué?!", "… ellipsis", "—dash— –en–", "“smart quotes” ‘single’", "½ ¾ ² ³ ⅓", "Ⅻ roman", "① circled",
    "٣ arabic-indic digit", "long s: ſ 'ſ", "Kelvin: \u212a", "ﬁ ligature", "ǅ titlecase", "™ ® ©", "\x00nul\x07bell",
    "&amp;", "&amp;amp;", "&lt;b&gt;bold&lt;/b&gt;", "&quot;quoted&quot;", "&#39;s", "&#x27;re", "&eacute;t&eacute;",
    "&notit;", "&notin;", "&copy 2020", "&#128;", "&#0;", "&#xD800;", "&#1114112;", "&#99999999999999999999;",
    "tom &amp jerry", "&AMP;", "&nbsp;non&nbsp;breaking", "&#x1F431;", "&bogus;", "& alone", "&#;", "&#x;",
    "<|startoftext|>", "<|endoftext|>", "a<|endoftext|>b", "<|ENDOFTEXT|>",
    "mojibake: cafÃ© â€œquotedâ€\u009d",
    LONG, LONG + " " + LONG, "supercalifragilisticexpialidocious" * 8, "x" * 300, "1" * 100, "! " * 80,
]


def write_html_tables():
    import html
    import html.entities
    path = os.path.join(os.path.dirname(BPE), "html5_entities.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write("# The HTML standard's named character references (https://html.spec.whatwg.org/entities.json)\n"
                "# and its numeric-reference fixes, as Python %s's html module applies them.\n"
                "# name<TAB>code points (hex) | #charref<TAB>number<TAB>code points | #invalid<TAB>numbers\n"
                "# Written by tools/reference/clip_tokenizer_reference.py.\n" % sys.version.split()[0])
        for name in sorted(html.entities.html5):
            f.write("%s\t%s\n" % (name, " ".join("%x" % ord(c) for c in html.entities.html5[name])))
        for num in sorted(html._invalid_charrefs):
            f.write("#charref\t%x\t%s\n" % (num, " ".join("%x" % ord(c) for c in html._invalid_charrefs[num])))
        f.write("#invalid\t%s\n" % " ".join("%x" % n for n in sorted(html._invalid_codepoints)))


def main():
    write_html_tables()
    st = load_simple_tokenizer()
    prompts = os.environ["CLIP_PROMPTS"]
    os.makedirs(os.path.join(OUT, "small"), exist_ok=True)
    texts = [{"text": t, "kind": "caption"} for t in captions(prompts, 300, 20231129)]
    texts += [{"text": t, "kind": "mojibake" if "mojibake" in t else "hard"} for t in HARD]
    with open(os.path.join(OUT, "texts.json"), "w", encoding="utf-8") as f:
        json.dump(texts, f, ensure_ascii=True, indent=0)

    openai = st.SimpleTokenizer(bpe_path=BPE)
    hf = st.SimpleTokenizer(bpe_path=BPE)
    sot, eot = openai.encoder["<|startoftext|>"], openai.encoder["<|endoftext|>"]
    assert (sot, eot) == (49406, 49407)

    def hf_encode(tok, text):
        # transformers' _tokenize (ftfy branch): whitespace_clean(fix_text(text)).lower(); no unescaping
        saved = st.basic_clean
        st.basic_clean = lambda t: t.strip()
        try:
            return tok.encode(text)
        finally:
            st.basic_clean = saved

    full = []
    for entry in texts:
        t = entry["text"]
        ids = openai.encode(t)
        hf_ids = hf_encode(hf, t)
        clip_row = ([sot] + ids + [eot])
        if len(clip_row) > 77:  # clip.tokenize(truncate=True)
            clip_row = clip_row[:77]
            clip_row[-1] = eot
        clip_row = clip_row + [0] * (77 - len(clip_row))
        # transformers: truncation=True, max_length=77, padding="max_length" with pad_token <|endoftext|>
        diffusers_row = [sot] + hf_ids[:75] + [eot]
        diffusers_row += [eot] * (77 - len(diffusers_row))
        full.append({"openai": ids, "transformers": hf_ids, "clip_tokenize": clip_row,
                     "diffusers": diffusers_row, "decode": openai.decode(ids)})
    with open(os.path.join(OUT, "full.json"), "w", encoding="utf-8") as f:
        json.dump(full, f, ensure_ascii=True, separators=(",", ":"))

    # small vocabulary in Hugging Face's format
    merges = gzip.open(BPE).read().decode("utf-8").split("\n")[1:49152 - 256 - 2 + 1]
    rng = random.Random(7)
    chosen = merges[:400] + [m for m in merges[400:] if rng.random() < 0.02]
    base = list(st.bytes_to_unicode().values())
    vocab = base + [b + "</w>" for b in base]
    for m in chosen:
        joined = "".join(m.split())
        if joined not in vocab:
            vocab.append(joined)
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    ids = list(range(len(vocab)))
    rng.shuffle(ids)
    encoder = dict(zip(vocab, ids))
    with open(os.path.join(OUT, "small", "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(encoder, f, ensure_ascii=False)
    with open(os.path.join(OUT, "small", "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "\n".join(chosen) + "\n")
    small_tok = st.SimpleTokenizer(bpe_path=BPE)
    small_tok.encoder = encoder
    small_tok.decoder = {v: k for k, v in encoder.items()}
    small_tok.bpe_ranks = dict(zip([tuple(m.split()) for m in chosen], range(len(chosen))))
    small_tok.cache = {"<|startoftext|>": "<|startoftext|>", "<|endoftext|>": "<|endoftext|>"}
    small = [{"transformers": hf_encode(small_tok, e["text"])} for e in texts]
    with open(os.path.join(OUT, "small.json"), "w", encoding="utf-8") as f:
        json.dump(small, f, separators=(",", ":"))
    print("small vocabulary:", len(encoder), "tokens,", len(chosen), "merges; start/end ids",
          encoder["<|startoftext|>"], encoder["<|endoftext|>"])

    # per-code-point classes under the reference's regex module, and str.lower()
    import regex
    cls = regex.compile(r"(\s)|(\p{L})|(\p{N})")
    runs, prev, start = [], None, 0
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            c = "o"
        else:
            m = cls.match(chr(cp))
            c = "o" if m is None else "sLN"[m.lastindex - 1]
        if c != prev:
            if prev is not None:
                runs.append("%x %s" % (start, prev))
            prev, start = c, cp
    runs.append("%x %s" % (start, prev))
    with open(os.path.join(OUT, "unicode_classes.txt"), "w") as f:
        f.write("# start_hex class (s=\\s L=\\p{L} N=\\p{N} o=other) until the next line; regex %s, Unicode %s\n"
                % (regex.__version__, __import__("unicodedata").unidata_version))
        f.write("\n".join(runs) + "\n")
    with open(os.path.join(OUT, "lower.txt"), "w") as f:
        f.write("# code point -> str.lower() code points, hex; Python %s\n" % sys.version.split()[0])
        for cp in range(0x110000):
            if 0xD800 <= cp <= 0xDFFF:
                continue
            low = chr(cp).lower()
            if low != chr(cp):
                f.write("%x %s\n" % (cp, " ".join("%x" % ord(x) for x in low)))
    print(len(texts), "texts;", len(runs), "class runs")


if __name__ == "__main__":
    main()
