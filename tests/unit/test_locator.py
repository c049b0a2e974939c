"""The offline locator: description parsing and element scoring, without a browser."""

from __future__ import annotations

import random

import pytest

from iwrbench.data.tasks import Action
from iwrbench.locate.choice import choose
from iwrbench.locate.description import parse_description, text_from_description
from iwrbench.locate.element import Element
from iwrbench.locate.keys import key_from_description, normalize_key
from iwrbench.locate.offline import OfflineLocator
from iwrbench.locate.spatial import Anchor
from tests.fixtures_replay import run


def el(index: int, tag: str, text: str = "", *, role: str = "", name: str = "", y: float = 0.0, x: float = 0.0,
       w: float = 80.0, h: float = 24.0, context: str = "", landmark: str = "", in_viewport: bool = True,
       editable: bool = False, **attrs: str) -> Element:
    return Element(index=index, tag=tag, role=role, name=name or text, text=text,
                   attributes={k.replace("_", "-"): v for k, v in attrs.items()}, bbox=(x, y, w, h),
                   in_viewport=in_viewport, editable=editable, context=context, landmark=landmark)


def action(kind: str, description: str, **params: object) -> Action:
    return Action(index=1, type=kind, description=description, logical_assertion="", visual_evaluation_flag=False,
                  parameters={"description": description, **params})


# ---------------------------------------------------------------- parsing


def test_parse_quotes_roles_and_typed_text():
    q = parse_description("Type 'Bananas' into the 'What needs to be done?' field", typed_text="Bananas")
    assert q.quoted == ("What needs to be done?",)
    assert q.roles == ("textbox",)


def test_apostrophes_are_not_quotes():
    q = parse_description("Click the 'Men's shoes' link in the navbar")
    assert q.quoted == ("Men's shoes",)
    assert q.roles == ("link",) and q.landmarks == ("nav",)
    assert parse_description("Click the user's avatar").quoted == ()


def test_relations_name_neighbours_not_targets():
    q = parse_description("Click the '+' button next to 'Qty 2' for 'Trail Runner'")
    assert q.quoted == ("+",)
    assert q.context_quoted == (("Qty 2", "near"), ("Trail Runner", "in"))
    q = parse_description("Click the blue revenue bar above 'Dec' in the chart")
    assert q.context_quoted == (("Dec", "above"),)
    # "on" before a quote without a role word is a plain target, not a relation
    assert parse_description("Click on 'Settings'").quoted == ("Settings",)


def test_ordinals_positions_landmarks():
    q = parse_description('Click the second "Add to cart" button')
    assert q.ordinal == 2 and q.quoted == ("Add to cart",)
    q = parse_description("Click the hamburger menu icon in the top left corner of the header")
    assert set(q.positions) >= {"top", "left"} and "header" in q.landmarks and "icon" in q.roles
    assert parse_description("Click the last image").ordinal == -1


@pytest.mark.parametrize("desc,key", [
    ("Press Enter", "Enter"), ("Press the Escape key to close the dialog", "Escape"), ("Hit the down arrow", "ArrowDown"),
    ("Press Ctrl+A to select everything", "Control+a"), ("Press 'Tab'", "Tab"), ("Press Shift + Tab", "Shift+Tab"),
    ("Press the a key", "a"), ("Press Return to search", "Enter"), ("Submit the form", None),
])
def test_key_from_description(desc, key):
    assert key_from_description(desc) == key


def test_normalize_key():
    assert normalize_key("enter") == "Enter"
    assert normalize_key("ESC") == "Escape"
    assert normalize_key("cmd+k") == "Meta+k"
    assert normalize_key("ArrowLeft") == "ArrowLeft"
    assert normalize_key("F5") == "F5"
    assert normalize_key("hyper+q") is None
    assert text_from_description("Type 'laptop' in the search box") == "laptop"


# ---------------------------------------------------------------- choosing


TABS = [
    el(1, "a", "Home", role="link", href="#home", y=10),
    el(2, "button", "Overview", role="tab", y=60, x=0),
    el(3, "button", "Specs", role="tab", y=60, x=100),
    el(4, "a", "Specs & reviews", role="link", y=300),
    el(5, "div", "Overview Specs Reviews and more text around", role="generic", y=50, w=900, h=80),
]


def test_exact_tab_beats_link_and_container():
    c = choose("Click", "Click the 'Specs' tab", TABS)
    assert c.element is not None and c.element.index == 3
    assert c.score is not None and c.runner_up is not None and c.score - c.runner_up >= 1


def test_role_word_decides_between_same_text():
    items = [el(1, "button", "Help", y=10), el(2, "a", "Help", role="link", href="/help", y=500)]
    assert choose("Click", "Click the 'Help' link", items).element.index == 2
    assert choose("Click", "Click the 'Help' button", items).element.index == 1


def test_ambiguous_is_refused_with_reason():
    items = [el(1, "button", "Save draft", y=10), el(2, "button", "Save copy", y=50)]
    c = choose("Click", "Click the save button", items)
    assert c.element is None and "ambiguous" in c.reason


def test_identical_twins_take_the_first_visible():
    items = [el(1, "button", "Buy", y=900, in_viewport=False), el(2, "button", "Buy", y=300),
             el(3, "button", "Buy", y=100)]
    c = choose("Click", "Click the 'Buy' button", items)
    assert c.element.index == 3 and "twin" in c.reason


def test_ordinal_picks_in_reading_order():
    items = [el(i, "button", "Add to cart", y=100 + 300 * (i // 3), x=300 * (i % 3)) for i in range(6)]
    random.Random(1).shuffle(items)
    assert choose("Click", "Click the second 'Add to cart' button", items).element.index == 1
    assert choose("Click", "Click the last 'Add to cart' button", items).element.index == 5
    c = choose("Click", "Click the ninth 'Add to cart' button", items)
    assert c.element is None


def test_badge_counts_do_not_hide_the_label():
    items = [el(1, "button", "Cart 3 $274.00", y=10, landmark="header")] + \
            [el(10 + i, "button", "Add to cart", y=300 + 40 * i) for i in range(8)]
    assert choose("Click", "Click the 'Cart' button in the header", items).element.index == 1


def test_symbol_matches_aria_label_meaning_and_neighbour_context():
    lines = []
    for n, (name, qty) in enumerate([("Trail Runner", 2), ("Summit Backpack", 1)]):
        ctx = f"{name} Qty {qty} Remove"
        y = 100 + 80 * n
        lines += [el(10 * n + 1, "button", "−", name="Decrease", y=y, x=0, w=26, context=ctx),
                  el(10 * n + 2, "button", "+", name="Increase", y=y, x=80, w=26, context=ctx),
                  el(10 * n + 3, "button", "Remove", y=y, x=200, context=ctx)]
    c = choose("Click", "Click the '+' button next to 'Qty 2' for 'Trail Runner'", lines)
    assert c.element is not None and c.element.index == 2
    c = choose("Click", "Click the '+' button for 'Summit Backpack'", lines)
    assert c.element is not None and c.element.index == 12


def test_checkbox_next_to_text_uses_the_row_context():
    rows = [el(i, "input", "", role="checkbox", type="checkbox", y=100 + 40 * i, w=16,
               context=label) for i, label in enumerate(["Oat milk", "Sourdough bread", "Free-range eggs"])]
    assert choose("Click", "Click the checkbox next to 'Sourdough bread'", rows).element.index == 1


def test_spatial_relation_uses_text_anchors():
    bars = [el(i, "rect", "", role="graphics-symbol", x=50 * i, y=300 - 20 * i, w=30, h=100 + 20 * i,
               context="Jan Feb Mar Apr") for i in range(4)]
    anchors = [Anchor(m, (50 * i + 5, 420, 20, 14)) for i, m in enumerate(["Jan", "Feb", "Mar", "Apr"])]
    c = choose("Click", "Click the bar above 'Mar' in the chart", bars, anchors=anchors)
    assert c.element is not None and c.element.index == 2
    # without anchors the row text cannot tell the bars apart: refused, not guessed
    assert choose("Click", "Click the bar above 'Mar' in the chart", bars).element is None


def test_type_targets_editables_by_placeholder_or_label():
    items = [el(1, "input", "", name="New todo", editable=True, placeholder="What needs to be done?", y=50),
             el(2, "input", "", name="Search", editable=True, placeholder="Search", y=10),
             el(3, "button", "What needs to be done?", y=90)]
    loc = OfflineLocator()
    c = run(loc.locate(action("Type", "Type 'Bananas' into the 'What needs to be done?' field", text="Bananas"),
                       items, None))
    assert c.element.index == 1
    c = run(loc.locate(action("Type", "Type 'x' in the search box", text="x"), items, None))
    assert c.element.index == 2
    c = run(loc.locate(action("Type", "Type 'x'", text="x"), [items[2]], None))
    assert c.element is None and "editable" in c.reason


def test_position_words():
    items = [el(1, "button", "", name="Open menu", x=10, y=10, w=30), el(2, "button", "", name="Open cart", x=1200, y=10,
             w=30), el(3, "button", "", name="Open chat", x=1200, y=650, w=30)]
    c = choose("Click", "Click the icon in the top right corner", items)
    assert c.element is not None and c.element.index == 2


def test_nothing_matches():
    assert choose("Click", "Click the 'Checkout' button", [el(1, "button", "Home")]).element is None
    c = choose("Click", "Click anything", [])
    assert c.element is None and "no interactive elements" in c.reason


def test_deterministic_under_input_order():
    items = TABS + [el(9, "button", "Specs", role="tab", y=800, in_viewport=False)]
    picks = set()
    for seed in range(5):
        shuffled = list(items)
        random.Random(seed).shuffle(shuffled)
        picks.add(choose("Click", "Click the 'Specs' tab", shuffled).element.index)
    assert picks == {3}


def test_choice_info_is_a_locator_record():
    info = choose("Click", "Click the 'Specs' tab", TABS).info()
    assert info.method == "offline" and info.index == 3 and "Specs" in info.element
    assert info.candidates == len(TABS)


# ---------------------------------------------------------------- context, named labels, icons

CARDS = [el(1, "button", "Add to cart", y=300, x=10, context="Trail Runner Light running shoe $89.00 Add to cart"),
         el(2, "button", "Add to cart", y=300, x=400, context="Desk Lamp A warm LED lamp $35.00 Add to cart"),
         el(3, "button", "Add to cart", y=300, x=800, context="Mug Stoneware 350 ml $12.00 Add to cart")]


def test_twins_are_told_apart_by_the_card_the_description_names():
    c = choose("Click", "Click the 'Add to cart' button on the Desk Lamp card", CARDS)
    assert c.element is not None and c.element.index == 2, c
    c = choose("Click", "Add the mug to the cart with its 'Add to cart' button", CARDS)
    assert c.element is not None and c.element.index == 3, c


def test_one_element_named_outright_is_never_ambiguous():
    items = [el(1, "button", "Cart (2)", y=10, x=1100), el(2, "button", "", name="Close", y=80, x=1200,
                                                          context="Your cart 2 items Close"),
             el(3, "button", "Checkout", y=600, x=1100, context="Your cart 2 items Checkout")]
    c = choose("Click", "Click the Close button of the cart panel", items)
    assert c.element is not None and c.element.index == 2, c


@pytest.mark.parametrize("desc,want", [
    ("Click the small up arrow of the quantity field", 2),
    ("Click the down arrow of the quantity field", 3),
    ("Click the trash icon of the 'Buy milk' row", 5),
    ("Click the check-mark button that saves the edit", 6),
    ("Click the chevron to the left of the input to mark all todos as done", 7),
])
def test_icon_only_controls_are_found_by_their_function(desc, want):
    items = [el(1, "input", "", name="Quantity", type="number", editable=True, x=10, y=10),
             el(2, "a", "", role="button", **{"class": "ui-spinner-button ui-spinner-up"}, x=90, y=8, h=10,
                context="Quantity"),
             el(3, "a", "", role="button", **{"class": "ui-spinner-button ui-spinner-down"}, x=90, y=20, h=10,
                context="Quantity"),
             el(4, "button", "", **{"class": "destroy"}, x=300, y=100, context="Walk the dog"),
             el(5, "button", "", **{"class": "destroy"}, x=300, y=140, context="Buy milk"),
             el(6, "button", "", title="Confirm changes to this tiddler", **{"class": "tc-btn-invisible"}, x=500, y=10),
             el(7, "input", "", type="checkbox", name="Mark all as complete", id="toggle-all", x=5, y=60)]
    c = choose("Click", desc, items)
    assert c.element is not None and c.element.index == want, c


def test_an_ordinal_beside_a_quote_says_where_the_one_match_sits():
    tabs = [el(1, "a", "Nunc tincidunt", role="tab", x=10), el(2, "a", "Proin dolor", role="tab", x=120),
            el(3, "a", "Aenean lacinia", role="tab", x=230)]
    c = choose("Click", "Click the third tab, 'Aenean lacinia'", tabs)
    assert c.element is not None and c.element.index == 3
    c = choose("Click", "Click 'Proin dolor', the second link of the tab list", tabs)
    assert c.element is not None and c.element.index == 2


def test_an_item_and_its_own_wrapper_are_one_target():
    items = [el(1, "li", "JavaScript", role="listitem", x=10, y=100, w=200, h=30),
             el(2, "div", "JavaScript", x=12, y=102, w=196, h=26),
             el(3, "ul", "Java JavaScript", role="list", x=10, y=70, w=200, h=60)]
    c = choose("Click", "Click 'JavaScript' in the suggestion list", items)
    assert c.element is not None and c.element.index in (1, 2), c


def test_words_no_element_has_do_not_drown_the_words_that_match():
    items = [el(1, "input", "", type="checkbox", name="Mark all as complete", id="toggle-all", x=5, y=60),
             el(2, "input", "", placeholder="What needs to be done?", editable=True, x=40, y=60, **{"class": "new-todo"}),
             el(3, "a", "Completed", x=300, y=400, href="#/completed")]
    c = choose("Click", "Click the chevron left of the new todo field that marks every todo as complete", items)
    assert c.element is not None and c.element.index == 1, c


def test_a_number_that_is_a_label_names_it_and_the_plus_glyph_means_new():
    days = [el(i, "a", str(i), x=30 * (i % 7), y=30 * (i // 7)) for i in range(1, 31)]
    c = choose("Click", "Click the day 15", days)
    assert c.element is not None and c.element.index == 15
    buttons = [el(1, "button", "", name="save changes", y=10, x=900), el(2, "button", "", name="new tiddler", y=10, x=950),
               el(3, "button", "", name="control panel", y=10, x=1000)]
    c = choose("Click", "Click the + button at the top right", buttons)
    assert c.element is not None and c.element.index == 2


def test_the_only_field_takes_typing_into_the_editor():
    items = [el(1, "button", "B", title="Bold"), el(2, "div", "", editable=True, y=60, w=600, h=300,
                                                 **{"class": "pell-content", "contenteditable": "true"})]
    c = run(OfflineLocator().locate(action("Type", "Type 'Shopping list' into the editing area under the toolbar",
                                           text="Shopping list"), items))
    assert c.element is not None and c.element.index == 2


def test_the_checkbox_of_another_row_is_not_next_to_the_named_text():
    rows = ["Buy milk", "Walk the dog", "Call the bank"]
    anchors = [Anchor(t, (60.0, 100.0 + 60 * i, 200.0, 24.0)) for i, t in enumerate(rows)]
    boxes = [el(i + 1, "input", "", type="checkbox", x=20, y=100 + 60 * i, w=24, h=24, context=t)
             for i, t in enumerate(rows)]
    c = choose("Click", "Click the round checkbox next to 'Walk the dog'", boxes, anchors=anchors)
    assert c.element is not None and c.element.index == 2
    missing = [b for b in boxes if b.index != 2]  # a broken page without that row's checkbox
    c = choose("Click", "Click the round checkbox next to 'Walk the dog'", missing, anchors=anchors)
    assert c.element is None, c


def test_an_element_named_in_words_places_another():
    """'the chevron left of the new todo field': the field is found on the page, and what sits left of
    it on its line is the chevron, not the row checkboxes below."""
    items = [el(1, "input", "", placeholder="What needs to be done?", editable=True, x=60, y=60, w=500, h=40,
                **{"class": "new-todo"}),
             el(2, "input", "", type="checkbox", id="toggle-all", x=10, y=68, w=30, h=24),
             el(3, "input", "", type="checkbox", x=10, y=120, w=30, h=24, context="Buy milk", **{"class": "toggle"}),
             el(4, "input", "", type="checkbox", x=10, y=170, w=30, h=24, context="Walk the dog", **{"class": "toggle"})]
    c = choose("Click", "Click the chevron left of the new todo field that marks every todo as complete", items)
    assert c.element is not None and c.element.index == 2, c


def test_a_place_named_by_its_text_when_it_is_no_element():
    """'the check-mark button at the top right of the draft': the draft is no element, its title text
    says where it is."""
    anchors = [Anchor("Draft of 'New Tiddler'", (85.0, 71.0, 600.0, 40.0)),
               Anchor("Draft of 'New Tiddler'", (990.0, 260.0, 130.0, 16.0))]
    items = [el(1, "button", "", name="save changes", x=1200, y=10, w=30, h=30),
             el(2, "button", "", name="Confirm changes to this tiddler", x=800, y=75, w=30, h=30)]
    c = choose("Click", "Click the check-mark button at the top right of the draft that saves the edit", items,
               anchors=anchors)
    assert c.element is not None and c.element.index == 2, c


def test_an_ordinal_in_the_surroundings_counts_the_look_alikes():
    cards = []
    for i, title in enumerate(["High Tatras", "High Tatras 3", "High Tatras 2"]):
        x = 10 + 200 * i
        cards.append(el(10 + i, "li", f"{title} View larger Delete image", role="listitem", x=x, y=10, w=180, h=200))
        cards.append(el(20 + i, "a", "View larger", title="View larger image", x=x + 10, y=180, w=20, h=20,
                        context=f"{title} View larger Delete image", **{"class": "ui-icon ui-icon-zoomin"}))
    c = choose("Click", "Click the magnifying-glass icon of the first card, 'High Tatras'", cards)
    assert c.element is not None and c.element.index == 20, c


def test_a_select_names_its_list_not_its_option():
    items = [el(1, "select", "Jan Feb Mar", role="combobox", x=10, y=10, **{"class": "ui-datepicker-month"}),
             el(2, "select", "2016 2017 2018 2019 2020", role="combobox", x=120, y=10,
                **{"class": "ui-datepicker-year"})]
    c = run(OfflineLocator().locate(action("Select", "Choose 2020 in the year list", option="2020"), items))
    assert c.element is not None and c.element.index == 2, c


def test_size_words_pick_the_large_or_the_small_look_alike():
    """'the big text box' / 'the small x': among fields that match as well, the size word decides."""
    items = [el(1, "textarea", "", editable=True, x=10, y=10, w=600, h=300),
             el(2, "input", "", editable=True, x=10, y=330, w=120, h=24)]
    big = run(OfflineLocator().locate(action("Type", "Type 'hello' into the big text box", text="hello"), items))
    small = run(OfflineLocator().locate(action("Type", "Type 'hello' into the small text box", text="hello"), items))
    assert big.element is not None and big.element.index == 1, big
    assert small.element is not None and small.element.index == 2, small


def test_look_alikes_told_apart_only_by_place_take_the_position_word():
    """A range slider's two handles: no text, same look; 'the left handle' is the leftmost, 'the
    right handle' the rightmost, even once the focused one has gained a class."""
    handles = [el(1, "span", "", x=90, y=40, w=18, h=18, tabindex="0", **{"class": "ui-slider-handle"}),
               el(2, "span", "", x=380, y=40, w=18, h=18, tabindex="0", **{"class": "ui-slider-handle ui-state-focus"})]
    left = choose("Press", "on the left handle of the slider", handles)
    right = choose("Press", "on the right handle", handles)
    assert left.element is not None and left.element.index == 1, left
    assert right.element is not None and right.element.index == 2, right
    # Without a position word they stay ambiguous; elements that do not look alike are not ranked by place.
    assert choose("Press", "on the handle", handles).element is None
    unlike = [handles[0], el(3, "span", "", x=380, y=40, w=120, h=60, tabindex="0", **{"class": "ui-slider-handle"})]
    from iwrbench.locate.choice import _extreme_look_alike
    from iwrbench.locate.scoring import Scored
    assert _extreme_look_alike(("right",), [Scored(e, 5.0, "") for e in unlike]) is None
    assert _extreme_look_alike(("right",), [Scored(e, 5.0, "") for e in handles]).element.index == 2


def test_a_control_whose_surroundings_span_every_row_is_not_the_rows_own():
    """'The round checkbox of Feed the cat': the list's mark-all box sits in a section whose text is
    every todo; the row's own checkbox is the one meant."""
    items = [el(1, "input", "", type="checkbox", id="toggle-all", x=10, y=60, w=30, h=30,
                context="Feed the cat Post the letter"),
             el(2, "input", "", type="checkbox", x=10, y=120, w=30, h=30, context="todos Feed the cat Feed the cat",
                **{"class": "toggle"}),
             el(3, "input", "", type="checkbox", x=10, y=170, w=30, h=30, context="todos Post the letter Post the letter",
                **{"class": "toggle"})]
    c = choose("Click", "Click the round checkbox of 'Feed the cat'", items)
    assert c.element is not None and c.element.index == 2, c


def test_a_glyph_outside_quotes_names_the_control_and_its_look_alike_glyphs():
    """'Click the × at the right end of the row': the × names the delete button even when the page
    draws it as ✖; and 'X ... above Y' places the quoted element against another quote."""
    q = parse_description("Click the × at the right end of the 'Book flights' row")
    assert "×" in q.named and q.context_quoted == (("Book flights", "in"),)
    items = [el(1, "button", "✖", x=500, y=100, w=20, h=20, context="Book flights", **{"class": "destroy"}),
             el(2, "li", "Book flights", role="listitem", x=0, y=95, w=540, h=30, context="Book flights Renew passport"),
             el(3, "li", "Renew passport", role="listitem", x=0, y=130, w=540, h=30, context="Book flights Renew passport")]
    c = choose("Click", "Click the × at the right end of the 'Book flights' row", items)
    assert c.element is not None and c.element.index == 1, c
    q = parse_description("Click 'Socket Activation' in the Navigation list, just above 'Glossary'")
    assert q.quoted == ("Socket Activation",) and q.context_quoted == (("Glossary", "above"),)
    assert parse_description("Click on 'Settings'").quoted == ("Settings",)
