"""The card as a visitor meets it: who is talking, what it saves, plans with prices, phones first,
contrast computed from the rendered colours, and axe-core on every kind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from e2e_helpers import (
    SECOND,
    be_active,
    card,
    click_in_widget,
    compare_plans,
    leave_cart_page,
    open_page,
    poll,
    settle,
    wait_ready,
    widget,
)  # fmt: skip

SHOWN = "() => { const h = document.getElementById('tactful-root'); return !!(h && h.shadowRoot.querySelector('section')); }"
IN_CARD = "document.getElementById('tactful-root').shadowRoot"
PHONE = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True}
DARK = ("document.documentElement.style.cssText += ';--tactful-bg:#1d1d22;--tactful-fg:#f2f2f4;--tactful-accent:#8ab4f8;"
        "--tactful-accent-text:#10131a;--tactful-link:#9cc2ff;--tactful-muted:#c4c4ca;--tactful-border:#9a9aa4'")

# Contrast of what is drawn: each colour as the browser computed it, against the card's background.
CONTRAST = """() => {
  const root = document.getElementById('tactful-root').shadowRoot, panel = root.querySelector('section');
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).slice(0, 3).map(Number);
  const lum = (c) => { const v = rgb(c).map((x) => { x /= 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const bg = getComputedStyle(panel).backgroundColor, out = {};
  const text = (sel) => root.querySelector(sel) && ratio(getComputedStyle(root.querySelector(sel)).color, bg);
  out.message = text('[data-tactful-message]');
  out.muted = text('.who');
  const button = root.querySelector('button.primary, a.primary');
  if (button) out.button = ratio(getComputedStyle(button).color, getComputedStyle(button).backgroundColor);
  const link = root.querySelector('a.link, button.secondary, .chip');
  if (link) out.link = ratio(getComputedStyle(link).color, bg);
  const input = root.querySelector('input[type=email], input[type=text]');
  if (input) out.input_border = ratio(getComputedStyle(input).borderTopColor, bg);
  return out;
}"""


def axe_violations(page, root_dir):
    page.context.clock.resume()  # axe waits on timers: the page's clock must run (it is frozen for the engine)
    page.add_script_tag(path=str(root_dir / "node_modules" / "axe-core" / "axe.min.js"))
    return page.evaluate("""async () => {
        // The card fades in: judge its colours once it has finished appearing, not mid-way (a loaded
        // machine can be mid-animation here, and a half-faded button has half its contrast).
        const card = document.getElementById('tactful-root').shadowRoot.querySelector('section');
        await Promise.all(card.getAnimations({ subtree: true }).map((a) => a.finished.catch(() => null)));
        const result = await axe.run(document.getElementById('tactful-root'), { resultTypes: ['violations'] });
        return result.violations.filter((v) => ['serious', 'critical'].includes(v.impact))
            .map((v) => v.id + ': ' + v.nodes.map((n) => n.target.join(' ')).join(', '));
    }""")


def open_card(browser, site, kind, **options):
    """A page with the card of ``kind`` open, reached by the behaviour its trigger asks for."""
    if kind == "discount":
        context, page = open_page(browser, site, "/site/cart.html", **options)
        for _ in range(3):
            page.dispatch_event("[data-add]", "click")
        if options.get("is_mobile"):
            page.tap("[data-add]")
            settle(page, context.clock, 61 * SECOND)  # stillness: on a phone there is no pointer to leave with
        else:
            page.mouse.move(400, 300)
            leave_cart_page(page, context.clock)
    elif kind == "compare":
        context, page = open_page(browser, site, "/site/pricing.html", **options)
        compare_plans(page)
        settle(page, context.clock, 5 * SECOND)
    elif kind == "questions":
        context, page = open_page(browser, site, "/site/product.html", **options)
        page.evaluate("window.scrollTo(0, document.body.scrollHeight * 0.5)")
        be_active(page, 31, context.clock)
        settle(page, context.clock)
    elif kind == "welcome_back":
        context, page = open_page(browser, site, "/site/cart.html", **options)
        page.dispatch_event("[data-add]", "click")
        settle(page, context.clock)
        context.clock.fast_forward(2 * 3600 * SECOND)  # a later visit
        page.goto(site.url + "/site/home.html")
        wait_ready(page)
        be_active(page, 4, context.clock)
        settle(page, context.clock)
    else:
        context, page = open_page(browser, site, "/site/article.html", **options)
        page.evaluate("window.scrollTo(0, document.body.scrollHeight * 0.8)")
        be_active(page, 50, context.clock)
        settle(page, context.clock)
    poll(page, SHOWN)
    return context, page


@pytest.mark.parametrize("kind", ["discount", "compare", "questions", "lead"])
@pytest.mark.parametrize("theme", ["default", "dark"])
def test_every_card_is_readable_and_accessible(human_browser, site, root, kind, theme):
    context, page = open_card(human_browser, site, kind)
    if theme == "dark":
        page.evaluate(DARK)
    contrast = page.evaluate(CONTRAST)
    assert contrast["message"] >= 4.5 and contrast["muted"] >= 4.5 and contrast.get("button", 4.5) >= 4.5, contrast
    assert "button" in contrast or "link" in contrast, contrast  # every card has an action to check
    assert contrast.get("link", 4.5) >= 4.5 and contrast.get("input_border", 3) >= 3, contrast
    assert axe_violations(page, root) == []
    who = page.evaluate(f"{IN_CARD}.querySelector('[data-tactful-assistant-name]').textContent")
    assert who == "Shop assistant"  # the identity line (data-tactful-assistant names it)
    context.close()


def test_the_discount_says_what_it_saves_and_confirms_inside_the_card(human_browser, site):
    context, page = open_card(human_browser, site, "discount")
    assert page.evaluate(f"{IN_CARD}.querySelector('[data-tactful-saving]').textContent") == "You save €7.20 on this cart"
    click_in_widget(page, "[data-tactful-action=accept]")
    assert poll(page, "() => window.testShop.applied[0]")["code"] == "SAVE10"
    done = card(page)
    assert "Code SAVE10 applied: you save €7.20." in done.text
    assert page.evaluate(f"{IN_CARD}.querySelector('section').dataset.tactfulState") == "applied"
    settle(page, context.clock, 5 * SECOND)
    assert widget(page) is None  # the confirmation closes by itself
    context.close()


def test_the_comparison_shows_the_two_plans_weighed_with_prices_and_a_choice(human_browser, site):
    context, page = open_card(human_browser, site, "compare")
    rows = page.evaluate(f"[...{IN_CARD}.querySelectorAll('tr[data-tactful-tier]')].map((r) => r.textContent)")
    assert len(rows) == 2 and "Pro" in rows[0] + rows[1] and "Team" in rows[0] + rows[1]
    assert any("$29 a month" in r for r in rows) and not any("Starter" in r for r in rows)
    page.evaluate("window.chosen = []; document.addEventListener('tactful:choose-plan', (e) => chosen.push(e.detail))")
    click_in_widget(page, "tr[data-tactful-tier='tier:pro'] [data-tactful-action=choose]")
    assert poll(page, "() => window.chosen[0]")["tier"] == "tier:pro"
    context.close()


def test_on_a_phone_the_card_keeps_off_the_checkout_and_a_third_of_the_screen(human_browser, site):
    context, page = open_page(human_browser, site, "/site/cart.html", **PHONE)
    for _ in range(4):
        page.tap("[data-add]")
    settle(page, context.clock, 61 * SECOND)  # stillness on the cart page: no pointer to leave with on a phone
    poll(page, SHOWN)
    boxes = page.evaluate(f"""() => {{
        const r = (e) => {{ const b = e.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]; }};
        return {{ card: r({IN_CARD}.querySelector('section')), checkout: r(document.getElementById('checkout')),
                 targets: [...{IN_CARD}.querySelectorAll('button, a')].map((e) => [e.offsetWidth, e.offsetHeight]) }};
    }}""")
    card_box, checkout = boxes["card"], boxes["checkout"]
    overlap = card_box[0] < checkout[2] and checkout[0] < card_box[2] and card_box[1] < checkout[3] and checkout[1] < card_box[3]
    assert not overlap, boxes
    assert card_box[3] - card_box[1] <= 844 / 3 + 1, boxes
    assert all(w >= 44 and h >= 44 for w, h in boxes["targets"]), boxes["targets"]
    context.close()


def test_escape_elsewhere_is_the_pages_and_focus_returns_after_the_cards(human_browser, site):
    context, page = open_card(human_browser, site, "discount")
    page.keyboard.press("Escape")  # focus is on the page, not in the card: the page's Escape
    settle(page, context.clock)
    assert widget(page) is not None
    page.focus("#coupon")
    page.keyboard.press("Shift+Tab")
    for _ in range(20):
        if page.evaluate(f"!!{IN_CARD}.activeElement"):
            break
        page.keyboard.press("Tab")
    page.keyboard.press("Escape")
    assert poll(page, f"() => !{IN_CARD}.querySelector('section')")
    assert page.evaluate("document.activeElement.tagName") != "BODY"  # focus went back where it came from
    context.close()


# Reviewed screenshots of every card, on a desktop and on a phone. A difference fails the test and
# leaves the new picture and a diff beside each other in build/screenshots/ for review; a change
# meant to be seen is accepted with TACTFUL_UPDATE_BASELINES=1 ./run test tests/e2e/test_card.py.
BASELINES = Path(__file__).parent / "baselines"
REVIEW = Path(__file__).resolve().parents[2] / "build" / "screenshots"
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
MAX_DIFFERENT = 0.01  # share of pixels allowed to differ (antialiasing), each by more than 24 in a channel


def differing(baseline: Path, shot: Path, diff: Path) -> float:
    """The share of pixels that differ visibly; a diff image marks them in red."""
    from PIL import Image, ImageChops

    old, new = Image.open(baseline).convert("RGB"), Image.open(shot).convert("RGB")
    if old.size != new.size:
        return 1.0
    delta = ImageChops.difference(old, new).convert("L").point(lambda v: 255 if v > 24 else 0)
    changed = delta.histogram()[255]
    marked = new.copy()
    marked.paste((255, 0, 0), mask=delta)
    marked.save(diff)
    return changed / (old.size[0] * old.size[1])


@pytest.mark.parametrize("kind", ["discount", "compare", "questions", "welcome_back", "lead"])
@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_every_card_looks_as_reviewed(human_browser, site, kind, device):
    options = {**(PHONE if device == "phone" else DESKTOP), "reduced_motion": "reduce", "device_scale_factor": 1}
    context, page = open_card(human_browser, site, kind, **options)
    page.evaluate("document.getElementById('tactful-root').shadowRoot.activeElement?.blur()")  # no caret
    REVIEW.mkdir(parents=True, exist_ok=True)
    name = f"{kind}-{device}.png"
    shot, baseline = REVIEW / name, BASELINES / name
    page.locator("#tactful-root section").screenshot(path=str(shot), animations="disabled", caret="hide")
    context.close()
    if os.environ.get("TACTFUL_UPDATE_BASELINES") == "1":
        BASELINES.mkdir(exist_ok=True)
        baseline.write_bytes(shot.read_bytes())
        return
    assert baseline.exists(), f"no reviewed baseline for {name}: look at {shot}, then TACTFUL_UPDATE_BASELINES=1"
    share = differing(baseline, shot, REVIEW / f"{kind}-{device}.diff.png")
    assert share <= MAX_DIFFERENT, f"{name}: {share:.1%} of the card changed; compare {shot} with {baseline}"
