#!/usr/bin/env python3
"""Writes test/data/tokenizer/corpus.jsonl: the tokenizer equality corpus, one {"text": ...} per line.

Hand-written lines (all written for this corpus) plus seeded generated ones, covering what breaks
tokenizers: prose, source code, numbers and dates (Llama 3 groups digits by three), runs of spaces,
tabs and newlines, unusual whitespace, emoji, CJK and other scripts, right-to-left text, combining
marks, zero-width characters, contractions in every case, long words, every special-token string of
the Llama 3 and Llama 2 files, strings that look like byte tokens (<0x41>), and leading / trailing
spaces. Python standard library only; the output is deterministic for a given seed.

Usage: make_corpus.py [--seed N] [--out PATH]
"""
import argparse
import json
import random

PROSE = [
    "The quick brown fox jumps over the lazy dog.",
    "A compiler reads a model description and writes a program that runs it.",
    "We measured the latency twice: once cold, once warm.",
    "Tokenizers split text into pieces that a model can look up in its vocabulary.",
    "She said, \"Don't forget the semicolon!\" and then left the room.",
    "Is it 'fast enough'? It depends on the batch size, the context length and the GPU.",
    "The meeting moved to Thursday; bring the slides (and the coffee).",
    "Ünïcödé text should round-trip exactly, including accents like é, ñ and ø.",
    "In 2023, the team shipped three releases - each one faster than the last.",
    "Why do birds sing at dawn? Nobody in the lab could agree.",
    "Read the manual first... then read it again.",
    "E-mail me at someone@example.com or call +1 (555) 010-9999.",
    "The file is at /usr/local/share/data/model.bin, not ~/models.",
    "Visit https://example.org/path?query=1&lang=en#section-2 for details.",
    "It was a dark and stormy night, or so the story goes.",
    "Mixing CASE, camelCase, snake_case and kebab-case in one line.",
    "THIS SENTENCE IS ENTIRELY IN CAPITAL LETTERS FOR A TEST.",
    "this sentence has no capital letters and no final period",
    "Numbers like 3.14159, 2.71828 and 1.41421 appear in maths.",
    "The price went from $19.99 to €24,50 (about £21).",
    "Hello, world!",
    "Hello world",
    "hello",
    "Hi!",
    "OK",
    "a",
    "I",
    "The end.",
    "To be, or not to be: a question for the scheduler.",
    "Lists: apples, pears, plums; colours: red, green, blue.",
    "Quotes: “curly double”, ‘curly single’, «guillemets», „low-high“.",
    "Dashes: en – dash, em — dash, minus − sign, hyphen-minus.",
    "Ellipsis… and bullet • and section § and pilcrow ¶.",
    "Copyright © 2024, registered ®, trademark ™.",
    "Temperatures ranged from -40°C to +45°C.",
    "The ratio was 3:2, the odds 1/100, the slope 0.5%.",
    "Fractions ½ ⅓ ¼ and superscripts x² y³ and subscripts H₂O.",
    "Roman numerals Ⅰ Ⅱ Ⅲ Ⅳ and circled ① ② ③.",
    "Math: ∀x ∈ ℝ, ∃y such that x + y = 0; ∑ᵢ aᵢ ≤ ∞.",
    "Arrows → ← ↑ ↓ ⇒ ⇔ and boxes ┌─┐ │ │ └─┘.",
    "The café's crème brûlée was à la carte.",
    "Naïve coöperation: the résumé of a façade.",
    "Straße, Größe, Fußball; İstanbul, ısı; ΣΊΣΥΦΟΣ.",
    "Why?!?! Because!!! ... OK???",
    "(nested (parentheses [and {braces}]))",
    "<html><body><p>Not a special token</p></body></html>",
    "A line with a trailing backslash \\",
    "Tab\tseparated\tvalues\there",
    "key=value; other_key = other value",
    "He scored 100/100 on the 2nd try and 99.5% on the 3rd.",
]

CODE = [
    "def add(a, b):\n    return a + b\n",
    "for (int i = 0; i < n; ++i) {\n  sum += x[i] * y[i];\n}",
    "#include <stdio.h>\n\nint main(void) {\n\tprintf(\"hello\\n\");\n\treturn 0;\n}\n",
    "const f = (x) => x ** 2;\nconsole.log([1, 2, 3].map(f));",
    "fn main() {\n    let v: Vec<u32> = (0..10).collect();\n    println!(\"{:?}\", v);\n}",
    "SELECT id, name FROM users WHERE age >= 18 ORDER BY name DESC;",
    "if [ -f \"$FILE\" ]; then\n  echo \"exists\" >&2\nfi",
    "{\"key\": [1, 2.5, true, null], \"nested\": {\"a\": \"b\"}}",
    "class Foo:\n    def __init__(self):\n        self._x = None\n\n    @property\n    def x(self):\n        return self._x\n",
    "<div class=\"row\">\n  <span id='a1'>text</span>\n</div>",
    "x = [i for i in range(100) if i % 3 == 0]",
    "template <typename T>\nT max(T a, T b) { return a > b ? a : b; }",
    "    indented with four spaces\n\tindented with a tab\n  \t mixed",
    "while True:\n\ttry:\n\t\tbreak\n\texcept Exception as e:\n\t\tpass",
    "a += 1; b -= 2; c *= 3; d /= 4; e %= 5; f **= 6; g //= 7;",
    "if (a && b || !c) { return a != b ? a : c; }",
    "ptr->next = nullptr; obj.method(); ns::func<int>(42);",
    "@decorator\ndef f(*args, **kwargs) -> None: ...",
    "# A comment\n// Another comment\n/* block\n   comment */",
    "regex = r\"^\\s*(\\d{1,3})\\.(\\d+)$\"",
    "git commit -m \"Fix off-by-one in loop bounds\" && git push origin main",
    "docker run --rm -it -v $(pwd):/work ubuntu:24.04 bash",
    "pip install numpy==1.26.4 'torch>=2.1,<3'",
    "curl -sSL https://example.com/install.sh | sh -s -- --yes",
    "int64_t offset = static_cast<int64_t>(row) * ld + col;",
    "__global__ void add_kernel(float* out, const float* a, const float* b, int n) {\n  int i = blockIdx.x * blockDim.x + threadIdx.x;\n  if (i < n) out[i] = a[i] + b[i];\n}",
    "matrix = [[1, 2, 3],\n          [4, 5, 6],\n          [7, 8, 9]]",
    "\"\"\"Docstring with 'quotes' and \"double quotes\".\"\"\"",
    "let s = `template ${literal} with ${a + b}`;",
    "print(f\"{name!r:>10} {value:08.3f} {pct:.1%}\")",
    "0x7FFF_FFFF 0b1010_1010 0o777 1e-9 6.022e23 -0.0",
    "std::vector<std::pair<int, std::string>> v{{1, \"a\"}, {2, \"b\"}};",
    "$ ls -la\ntotal 8\ndrwxr-xr-x 2 root root 4096 Jan  1 00:00 .\n",
    "|--|--|\n| a | b |\n|---|---|\n| 1 | 2 |",
    "```python\nprint('hi')\n```",
    "- item one\n- item two\n  - nested item\n1. first\n2. second",
    "## Heading\n\nSome *emphasis*, **strong**, `code`, and [a link](http://x.y).",
    "\\begin{equation} E = mc^2 \\end{equation}",
    "$$\\frac{a}{b} + \\sqrt{x^2 + y^2} = \\int_0^1 f(t)\\,dt$$",
    "=SUM(A1:A10)/COUNT(B:B)",
]

SCRIPTS = [
    "你好，世界！今天天气很好。",
    "我们在二〇二四年发布了新版本。",
    "机器学习模型需要大量的数据。",
    "日本語のテキスト：ひらがな、カタカナ、漢字。",
    "東京は日本の首都です。",
    "こんにちは。お元気ですか？",
    "한국어 텍스트입니다. 안녕하세요!",
    "서울특별시는 대한민국의 수도이다.",
    "Привет, мир! Как дела?",
    "Москва — столица России.",
    "Γειά σου Κόσμε! Αλφάβητο: αβγδεζηθ.",
    "مرحبا بالعالم! كيف حالك؟",
    "اللغة العربية تكتب من اليمين إلى اليسار.",
    "שלום עולם! מה שלומך?",
    "עברית נכתבת מימין לשמאל.",
    "नमस्ते दुनिया! आप कैसे हैं?",
    "हिन्दी भाषा देवनागरी लिपि में लिखी जाती है।",
    "สวัสดีชาวโลก ภาษาไทยไม่มีช่องว่างระหว่างคำ",
    "Xin chào thế giới! Tiếng Việt có nhiều dấu.",
    "ሰላም ልዑል! አማርኛ",
    "გამარჯობა მსოფლიო!",
    "Բարեւ աշխարհ!",
    "வணக்கம் உலகம்!",
    "ওহে বিশ্ব! বাংলা ভাষা।",
    "ਸਤਿ ਸ੍ਰੀ ਅਕਾਲ ਦੁਨਿਆ!",
    "ಹಲೋ ವರ್ಲ್ಡ್!",
    "ສະບາຍດີ ໂລກ!",
    "မင်္ဂလာပါ ကမ္ဘာ!",
    "សួស្តី ពិភពលោក!",
    "Sveika, pasaule! Ķēķis, ļoti, ņemt.",
    "Witaj świecie! Zażółć gęślą jaźń.",
    "Ahoj světe! Příliš žluťoučký kůň.",
    "Halló heimur! Þetta er íslenska, með ð og þ.",
    "Merhaba dünya! Çağrı, ığdır, şöyle.",
    "Bonjour le monde ! Où est l'hôtel ?",
    "¡Hola mundo! ¿Cómo estás?",
    "Olá mundo! Ação, coração, pão.",
    "Hallo Welt! Äpfel, Öl, Übermut, Maß.",
    "Hej världen! Åsa, ärlig, öl.",
    "Dia dhuit, a dhomhain!",
    "ᚠᚢᚦᚨᚱᚲ runes and 𐌰𐌱𐌲 Gothic",
    "ᠮᠣᠩᠭᠣᠯ ᠪᠢᠴᠢᠭ Mongolian script",
    "ꦲꦏ꧀ꦱꦫꦗꦮ Javanese",
    "𝐁𝐨𝐥𝐝 𝑰𝒕𝒂𝒍𝒊𝒄 𝔉𝔯𝔞𝔨𝔱𝔲𝔯 𝕯𝖔𝖚𝖇𝖑𝖊",
    "Ｆｕｌｌｗｉｄｔｈ　ｔｅｘｔ　１２３",
    "ｶﾀｶﾅ half-width katakana",
    "Hello世界mixed中文English",
    "東京2024年オリンピック",
    "abc123def456ghi",
    "ВсёЭто RussianEnglish смесь",
    "مرحبا123عالم",
    "Hebrew שלום and English mixed",
    "العربية English עברית 中文 हिन्दी",
    "RTL mark\u200f here and LTR mark\u200e there",
    "Embedding \u202aLTR\u202c and \u202bRTL\u202c overrides \u202eevil\u202c",
]

EMOJI = [
    "😀", "😀😃😄😁", "I ❤️ NY", "👍🏽 thumbs up", "👨‍👩‍👧‍👦 family", "🏳️‍🌈 flag", "🇺🇸🇯🇵🇩🇪 flags",
    "1️⃣ 2️⃣ #️⃣ keycaps", "👩🏿‍💻 coder", "🧑‍🚀 astronaut", "🐍 + 🦀 = ❤", "☕️ vs ☕", "✔️✅❌",
    "🎉🎉🎉 party 🎉🎉🎉", "Emoji at end 🚀", "🚀 Emoji at start", "text😀text", "🙂 🙃 🫠 🫡 🫥",
    "🏴󠁧󠁢󠁳󠁣󠁴󠁿 Scotland", "⌚⌛⏰⏳", "♀♂⚧", "🀄🃏🎴", "🦄🦓🦒", "👁️‍🗨️", "🤷‍♂️🤦‍♀️",
]

SPECIAL_LLAMA3_NAMED = [
    "<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>",
]
SPECIAL_LLAMA2 = ["<unk>", "<s>", "</s>"]

UNUSUAL_SPACES = [
    "\u00a0", "\u1680", "\u2000", "\u2001", "\u2002", "\u2003", "\u2004", "\u2005", "\u2006", "\u2007",
    "\u2008", "\u2009", "\u200a", "\u202f", "\u205f", "\u3000", "\u0085", "\u2028", "\u2029", "\u180e",
    "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\x0b", "\x0c", "\r", "\r\n", "\t", "\n",
]

CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"]

WORDS = ("time person year way day thing man world life hand part child eye woman place work week case "
         "point government company number group problem fact be have do say get make go know take see "
         "come think look want give use find tell ask seem feel try leave call good new first last long "
         "great little own other old right big high different small large next early young important few "
         "public bad same able model token kernel tensor cache graph batch stream decode encode").split()


def special_llama3():
    # Llama 3's 256 added tokens: the named ones and <|reserved_special_token_0..250|>.
    return SPECIAL_LLAMA3_NAMED + ["<|reserved_special_token_%d|>" % i for i in range(251)] + [
        "<|finetune_right_pad_id|>", "<|eom_id|>", "<|python_tag|>", "<|step_id|>"]


def case_variants(s):
    return [s, s.upper(), s.lower(), s.title(), s.capitalize(), s.swapcase()]


def numbers_and_dates(rng):
    out = []
    for n in [0, 1, 9, 10, 12, 99, 100, 123, 999, 1000, 1234, 9999, 10000, 12345, 99999, 100000, 123456,
              1234567, 12345678, 123456789, 1234567890, 12345678901234567890]:
        out += [str(n), " %d" % n, "x%d" % n, "%d apples" % n, "-%d" % n, "{:,}".format(n)]
    for _ in range(80):
        k = rng.randint(1, 25)
        out.append("".join(rng.choice("0123456789") for _ in range(k)))
    for _ in range(40):
        out.append("%d.%0*d" % (rng.randint(0, 99999), rng.randint(1, 6), rng.randint(0, 999)))
    for _ in range(40):
        y, m, d = rng.randint(1900, 2099), rng.randint(1, 12), rng.randint(1, 28)
        hh, mm, ss = rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)
        fmt = rng.choice(["%04d-%02d-%02d", "%02d/%02d/%04d", "%d.%d.%d", "%04d%02d%02d"])
        if fmt in ("%02d/%02d/%04d", "%d.%d.%d"):
            date = fmt % (d, m, y)
        else:
            date = fmt % (y, m, d)
        out.append(rng.choice(["%s", "On %s at %02d:%02d", "%sT%02d:%02d:%02dZ", "date: %s, time: %02d:%02d:%02d"])
                   .replace("%02d:%02d:%02d", "%02d:%02d:%02d" % (hh, mm, ss))
                   .replace("%02d:%02d", "%02d:%02d" % (hh, mm)) % date)
    out += ["3.14", "3,14", "1e10", "1E-10", "+42", "-0.5", "0.000001", "1/2", "2^10=1024", "10%", "$1,000,000.00",
            "v1.2.3", "192.168.0.1", "::1", "2001:db8::ff00:42:8329", "00:1A:2B:3C:4D:5E", "ISBN 978-3-16-148410-0",
            "+44 20 7946 0958", "(555) 123-4567", "١٢٣٤٥ Arabic-Indic digits", "१२३४५ Devanagari digits",
            "一二三 四五六 CJK numerals", "１２３ fullwidth digits", "²³¹ superscripts", "Ⅻ roman twelve",
            "9am-5pm Mon–Fri", "1st 2nd 3rd 4th 21st 22nd 101st", "24/7/365", "50km/h 100mph 3.5GHz 16GB"]
    return out


def whitespace_lines(rng):
    out = []
    for n in [1, 2, 3, 4, 5, 7, 8, 15, 16, 31, 64]:
        out += [" " * n, "a" + " " * n + "b", " " * n + "x", "x" + " " * n, "\t" * n, "\n" * n,
                "a" + "\n" * n + "b", "a" + "\t" * n + "b", "\r\n" * n]
    for ws in UNUSUAL_SPACES:
        out += [ws, "a%sb" % ws, "%sword" % ws, "word%s" % ws, "one%stwo%sthree" % (ws, ws), ws * 3 + "x" + ws * 2,
                "123%s456" % ws, "end.%s" % ws]
    for _ in range(60):
        k = rng.randint(1, 12)
        parts = []
        for _ in range(k):
            parts.append(rng.choice([" ", "  ", "\t", "\n", "\r\n", "\n\n", " \n", "\n ", "\t\n"] + UNUSUAL_SPACES[:6]))
            parts.append(rng.choice(WORDS + ["", "", "1", "!", "."]))
        out.append("".join(parts))
    out += ["", " ", "  ", "\n", " \n ", "\n\n\n", "\t \t", " leading space", "trailing space ",
            "  two leading", "two trailing  ", " both ", "   three and three   ", "\tleading tab",
            "trailing tab\t", "\nleading newline", "trailing newline\n", "\r\nwindows line\r\n",
            "line one\nline two\nline three", "para one\n\npara two\n\n\npara three",
            "mixed \t \n \r\n whitespace \u00a0 here"]
    return out


def contraction_lines():
    out = []
    for c in CONTRACTIONS:
        for v in dict.fromkeys([c, c.upper(), c[:2].upper() + c[2:], c[0] + c[1:].capitalize()]):
            out += ["it%s" % v, "they%s fine" % v, "%s" % v, " %s" % v, "word %s" % v, "x%sy" % v,
                    "I%s" % v, "don%s" % v, "123%s" % v, "!%s" % v]
        out.append("He\u2019s here" if c == "'s" else "curly\u2019" + c[1:])
    out += ["I'm, you're, he's, she'll, we've, they'd, it's, can't, won't, shan't",
            "I'M, YOU'RE, HE'S, SHE'LL, WE'VE, THEY'D, IT'S, CAN'T",
            "y'all'd've", "rock 'n' roll", "'tis the season", "the '90s", "O'Brien's", "ma'am's",
            "''s double quote", "'''", "' s", "'S'T'RE'VE'M'LL'D", "'\u017f long s", "'\u212a kelvin",
            "don’t stop believin’", "l'homme d'affaires", "it''s", "'", "''"]
    return out


def long_lines(rng):
    out = ["a" * 50, "a" * 257, "ab" * 300, "x" * 1000, "Supercalifragilisticexpialidocious" * 5,
           "pneumonoultramicroscopicsilicovolcanoconiosis", "1234567890" * 30, "." * 100, "-" * 80, "=" * 120,
           "!?" * 40, "😀" * 60, "中" * 200, "ab\u0301" * 50, " " * 500, "\n" * 200, "\t" * 100,
           "https://example.com/" + "/".join("seg%d" % i for i in range(40)),
           "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") for _ in range(400)) + "==",
           "".join(rng.choice("0123456789abcdef") for _ in range(256)),
           "TheQuickBrownFoxJumpsOverTheLazyDog" * 8, "camelCaseIdentifierWithManyManyWords" * 6,
           "snake_case_identifier_with_many_words_" * 8]
    for _ in range(20):
        n = rng.randint(30, 300)
        out.append("".join(rng.choice("etaoinshrdlucmfwyp") for _ in range(n)))
    return out


def tricky_unicode():
    return [
        "e\u0301", "cafe\u0301", "n\u0303", "a\u0300\u0301\u0302\u0303\u0304", "Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d",
        "\u1100\u1161\u11a8", "\u1112\u1161\u11ab\u1100\u1173\u11af", "क्षत्रिय", "\u0915\u094d\u200d\u0937",
        "e\u0308\u0301", "\u0041\u030a vs \u00c5 vs \u212b", "\ufb01 ligature fi", "\u1e9b\u0323",
        "zero\u200bwidth\u200bspace", "join\u200dner", "non\u200cjoiner", "word\u2060joiner", "bom\ufeffinside",
        "soft\u00adhyphen", "\ufeffleading BOM", "trailing BOM\ufeff",
        "\ue000 private use \uf8ff", "\U000f0000 plane 15", "\U0010fffd last", "\ufffd replacement char",
        "\ufffe\uffff noncharacters", "\U0001fffe \U0001ffff", "\x00 nul", "\x01\x02\x03 controls", "\x7f del",
        "\x80\x81\x9f C1 controls", "\u0600 Arabic number sign", "\u061c ALM", "\u2066isolate\u2069",
        "\U0001d400\U0001d401 math", "\U00020000 CJK ext B", "\U0002a6d6", "\u3400 ext A", "\u4e00\u9fff",
        "\uac00\ud7a3 hangul ends", "\u0e01\u0e34\u0e4a thai marks", "\u0f00 tibetan", "\u17b4\u17b5 khmer invisible",
        "\u2028line separator\u2029paragraph separator", "\u00a0\u00a0nbsp\u00a0\u00a0", "a\u0085b NEL",
        "\u1680ogham", "\u180emongolian vowel sep", "\u3000ideographic\u3000space",
        "\u0130\u0131 dotted i", "\u03a3\u03c3\u03c2 sigma", "\u1e9e capital sharp s", "\u01c5 titlecase dz",
        "\u2126 ohm \u03a9 omega", "\u00b5 micro \u03bc mu", "\u212a kelvin K",
    ]


def byte_token_lookalikes():
    return ["<0x41>", "<0x0A>", "<0x00>", "<0xFF>", "<0xff>", "<0x+4>", "<0xZZ>", "<0x4>", "<0x041>", "< 0x41>",
            "text<0x41>text", " <0x41> ", "<0xE4><0xB8><0xAD>", "<0x0A>\n<0x0A>", "<0x20>", "<0x>", "<0x\u00e9>",
            "<<0x41>>", "0x41", "\\x41", "&#x41;", "%41", "<0x41><0x42><0x43>"]


def special_token_lines(rng):
    out = []
    for tok in special_llama3() + SPECIAL_LLAMA2:
        ctx = rng.choice(["Hello%sworld", "%s", " %s ", "text %s", "%s text", "a%sb", "%s%s", "%s\n", "\n%s",
                          "  %s  ", "'%s'", "(%s)", "1%s2"])
        out.append(ctx.replace("%s%s", tok + tok).replace("%s", tok))
    out += [
        "<|begin_of_text|>Hello", "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>",
        "<|start_header_id|>assistant<|end_header_id|>\n\n", "Some text<|eot_id|>", "<|eot_id|><|eot_id|>",
        "<|begin_of_text|", "begin_of_text|>", "<|begin_of_text |>", "<| begin_of_text|>", "<|BEGIN_OF_TEXT|>",
        "<|reserved_special_token_251|>", "<|reserved_special_token_-1|>", "<|reserved_special_token_|>",
        "<|eot_id", "<|eot_id|", "|eot_id|>", "<||>", "<|>", "<|",
        "<s>Hello</s>", "<s> Hello </s>", "<s><s></s></s>", "<unk><unk>", "<s", "s>", "</s", "< s>", "<S>", "<s >",
        "</s>text", "text<s>", " <s>", "<s> ", "a <unk> b", "<unk>", "Hello <s> world", "Hello<s>world",
        "<s>\n</s>", "<<s>>", "<</s>>", "<s><|eot_id|></s>", "[INST] Hi [/INST]", "<<SYS>>\nsystem\n<</SYS>>",
    ]
    return out


def random_mix(rng, count):
    pools = [
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "0123456789",
        " \t\n",
        "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
        "éèêëàâäôöûüçñßøåæœ",
        "你好世界中文字符测试的是在",
        "ひらがなカタカナ",
        "한국어텍스트",
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        "αβγδεζηθικλμνξοπρστυφχψω",
        "ابتثجحخدذرزسشصضطظعغفقكلمنهوي",
        "אבגדהוזחטיכלמנסעפצקרשת",
        "😀😂🚀🎉👍❤🔥✨",
        "\u0301\u0308\u200b\u200d\u00a0\u3000",
    ]
    out = []
    for _ in range(count):
        n = rng.randint(1, 60)
        weights = [rng.random() for _ in pools]
        s = "".join(rng.choice(rng.choices(pools, weights)[0]) for _ in range(n))
        out.append(s)
    return out


def sentence_mix(rng, count):
    out = []
    for _ in range(count):
        words = [rng.choice(WORDS) for _ in range(rng.randint(1, 20))]
        if rng.random() < 0.3:
            words[rng.randrange(len(words))] += rng.choice(CONTRACTIONS)
        if rng.random() < 0.3:
            words.insert(rng.randrange(len(words) + 1), str(rng.randint(0, 10 ** rng.randint(1, 8))))
        if rng.random() < 0.2:
            words.insert(rng.randrange(len(words) + 1), rng.choice(special_llama3()[:8] + SPECIAL_LLAMA2))
        sep = rng.choice([" ", " ", " ", "  ", "\t", "\n"])
        s = sep.join(words)
        s = rng.choice(["%s", "%s.", "%s?", "%s!", " %s", "%s ", "%s\n", "\"%s\""]) % s
        if rng.random() < 0.3:
            s = rng.choice(case_variants(s))
        out.append(s)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=20241129)
    ap.add_argument("--out", default="test/data/tokenizer/corpus.jsonl")
    args = ap.parse_args()
    rng = random.Random(args.seed)

    lines = []
    for group in (PROSE, CODE, SCRIPTS, EMOJI):
        for s in group:
            lines += [s, " " + s, s + " ", "  " + s + "\n"]
    for s in PROSE[:20] + SCRIPTS[:10]:
        lines += case_variants(s)[1:]
    lines += numbers_and_dates(rng)
    lines += whitespace_lines(rng)
    lines += contraction_lines()
    lines += long_lines(rng)
    lines += tricky_unicode()
    lines += byte_token_lookalikes()
    lines += special_token_lines(rng)
    lines += random_mix(rng, 400)
    lines += sentence_mix(rng, 400)
    # A few multi-line documents mixing everything.
    for _ in range(30):
        lines.append("\n".join(rng.choice(PROSE + CODE + SCRIPTS + EMOJI) for _ in range(rng.randint(2, 6))))

    seen, unique = set(), []
    for s in lines:
        if s not in seen:
            seen.add(s)
            unique.append(s)
    with open(args.out, "w", encoding="utf-8") as f:
        for s in unique:
            f.write(json.dumps({"text": s}, ensure_ascii=True) + "\n")
    print("wrote %d lines to %s" % (len(unique), args.out))


if __name__ == "__main__":
    main()
