"""Text similarity, tokens, assertion literals and token/pixel change helpers."""

from __future__ import annotations

import random
from collections import Counter

from iwrbench.judges.change import (
    TokenChange,
    assertion_literals,
    literal_present,
    reproduction,
    token_change,
)
from iwrbench.judges.text_similarity import levenshtein, normalise, text_similarity, tokens
from iwrbench.models.llm_json import find_object, short


def brute_levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def test_levenshtein_matches_the_textbook_definition():
    rng = random.Random(7)
    for _ in range(200):
        a = "".join(rng.choice("abcé ") for _ in range(rng.randint(0, 12)))
        b = "".join(rng.choice("abcé ") for _ in range(rng.randint(0, 12)))
        assert levenshtein(a, b) == brute_levenshtein(a, b), (a, b)
    assert levenshtein("kitten", "sitting") == 3
    assert levenshtein("", "abc") == 3


def test_text_similarity_normalises_case_and_whitespace():
    assert text_similarity("Your  Cart\n(3 items)", "your cart (3 items)") == 1.0
    assert text_similarity("", "") == 1.0
    assert text_similarity("", "something") == 0.0
    assert 0.8 < text_similarity("Subtotal $307.00", "Subtotal $301.00") < 1.0
    assert normalise("  A\tB \n") == "a b"


def test_levenshtein_is_fast_enough_for_page_text():
    import time

    a = "lorem ipsum dolor sit amet " * 110  # ~3000 characters, a full page of OCR text
    b = a.replace("dolor", "color")
    t = time.perf_counter()
    assert levenshtein(a, b) == 110
    assert time.perf_counter() - t < 2.0


def test_tokens_split_words_and_numbers():
    assert tokens("Your cart (3 items) - $307.00") == ["your", "cart", "3", "items", "307", "00"]


def test_token_change_counts_and_ocr_noise():
    ch = token_change("Cart (0) Outfitters", "Cart (1) 0utfitters", ocr_noise=True)
    assert ch.appeared == Counter({"1": 1}) and ch.disappeared == Counter({"0": 1})
    plain = token_change("Cart (0) Outfitters", "Cart (1) 0utfitters")
    assert "0utfitters" in plain.appeared


def test_reproduction_is_fuzzy_for_words_and_exact_for_numbers():
    gt = TokenChange(Counter({"specifications": 1, "280": 1}), Counter({"breathable": 1}))
    cand = TokenChange(Counter({"specificatlons": 1, "280": 1}), Counter({"breathable": 1}))
    assert reproduction(gt, cand).ratio == 1.0
    wrong = TokenChange(Counter({"specifications": 1, "281": 1}), Counter())
    rep = reproduction(gt, wrong)
    assert rep.ratio < 0.5 and "280" in rep.missing
    contrary = reproduction(gt, TokenChange(Counter({"breathable": 1}), Counter()))
    assert contrary.contrary == ["breathable"]


def test_assertion_literals_take_quotes_and_amounts_not_apostrophes_or_single_digits():
    lits = assertion_literals("The cart badge shows 2, Maria's review reads 'Great grip' and the total is "
                              "$218.00 (\u201cFree shipping\u201d).")
    assert lits == ["Great grip", "Free shipping", "$218.00"]
    assert assertion_literals("Nothing quoted, shows 3") == []


def test_literal_present_tolerates_ocr_slips_but_not_other_numbers():
    assert literal_present("Your cart (3 items)", "YOUR CART(3 ltems)\nClose")
    assert not literal_present("$307.00", "Subtotal $301.00")
    assert literal_present("Order TH-1042 with 3 items totalling $267.00 is on its way",
                           "Order TH-1042 with 3 items totalling $267.00 is on its")


def test_find_object_reads_fenced_and_wrapped_json():
    reply = 'Sure.\n```json\n{"Verdict": "pass", "reason": "the {badge} shows 1"}\n```\nDone.'
    assert find_object(reply, ["verdict"]) == {"verdict": "pass", "reason": "the {badge} shows 1"}
    assert find_object('{"a": 1} then {"verdict": "fail"}', ["verdict"]) == {"verdict": "fail"}
    assert find_object("no json here {oops", ["verdict"]) is None
    assert short("a\n b" + "x" * 400, 20).endswith("…") and len(short("y" * 400, 20)) == 20
