"""A deterministic synthetic beauty shop: a catalogue and ~60 days of user behaviour.

    python -m edgerec.synth --seed 7 --out /tmp/shop [--items 1200] [--users 2000]
                            [--format csv|jsonl|parquet|all]

writes `items.<fmt>` and `events.<fmt>` in the formats of shared/DATA.md, so the trainer, the
readers of every format and the Worker can be exercised end to end without the Amazon Beauty
benchmark. Everything is drawn from a `numpy.random.Generator` tree seeded by `--seed` and the clock
is fixed (the log runs up to `END_TS`), so one seed gives byte-identical files on every run. The
defaults give 1,200 items, 2,000 users and ~73k events in about 3 s.

The generative story
--------------------
Catalogue. `LEAVES` lists 29 leaf categories (`Beauty|<group>|<leaf>`) in 6 groups. Each leaf
knows its product noun ("Lipstick"), its product lines ("Velvet Matte", search keyword "matte"),
its variants (shades, skin or hair types, scents), its sizes, a median price and the leaves that
complement it (eyeliner -> mascara, cleanser -> toner -> serum -> moisturizer -> sunscreen).
`BRANDS` are 22 invented brands, each selling in 2-3 groups at a price tier. A leaf's items come
as products (brand + line) in 1-4 variants, titled "Brand Line Noun, Variant, Size", e.g.
"Lumière Velvet Matte Lipstick, Ruby Red, 3.5 g", so the leaf can be read off the title. Prices
are lognormal around the leaf median times the brand tier (larger sizes cost more), 2 decimals.
Popularity is Zipf over the products of a leaf (times a leaf weight), split over variants by a
Dirichlet. A few mid-tail items (`trending_fraction`) trend: their weight rises linearly over the
last `trend_days` days to `1 + trend_boost` times. Items are shuffled before ids are given, so
`sku-00001 ...` says nothing about the category.

The markup item. `MARKUP_ITEM_ID` (0-based row `MARKUP_ROW` of the items file, for every seed and
size) is a normal Lip Gloss titled `MARKUP_TITLE`, with HTML markup, quotes and an ampersand, so
HTML escaping can be tested downstream. It is never trending and has 5% of its leaf's mean
popularity, so it gets a few interactions (1-10 over seeds 0-11 at the default sizes). No other
title contains `<`, `>` or `&`.

Users. Each user has 1-3 interest leaves: the first drawn by leaf popularity, the others from the
same group with probability `interest_coherence` (top-level coherence), mixed by Dirichlet
weights; a price sensitivity `beta` (item weight x (price / leaf median)^-beta: most users chase
bargains, a few prefer premium); a favourite brand; and a long-tailed number of sessions
(2 + negative binomial). Users join over the first 40 days; sessions are spread from the join day
to the end at diurnal times of day, never overlap, and every user ends up with >= 3 events.

Sessions. A session has one main category: the previous session's (20%), a complement of it
(12%), a random one (5%) or one drawn from the user's interest mixture. Before that it may be
- a refill: a consumable (shampoo, mascara, moisturizer ...) bought `refill_days` (x 0.75-1.3)
  ago is viewed (or searched by brand), carted and usually bought again;
- a return to an abandoned cart: the carted item is viewed again and often bought;
- in the trending window, a click on a trending item from the home page, whose category the
  session then often follows.
A browsing session starts with a search or a view. A search's query is made of the words of the
item the user then clicks ("matte lipstick", "vegan shampoo", "lumière face serum"); the search
row carries that item and a click row follows. Then come a geometric number of further views,
mostly in the same category, preferring siblings of the current item (other shades and sizes of
the product, then the same brand) and items at the user's price point; sometimes a step to a
complementary category (where the same brand is preferred) or to another interest. Any viewed
item may be put in the cart; at the end the cart is checked out (a purchase row per carted item)
or abandoned.

So the next item is predictable from the last few (sessions stay in one category, complements
follow each other, products and brands repeat, refills recur) and a sequential model should beat
popularity clearly: on the default shop a first-order item-to-item transition count reaches over
5x popularity's HR@10 under leave-one-out with the history excluded (see test_synth.py).

Output columns (DATA.md): items `item_id, title, categories, brand, description, price`; events
`user_id, item_id, timestamp, event, query`, with `timestamp` integer epoch seconds, `event` one
of view, click, cart, purchase, search, and `query` set on search rows only (empty/null
elsewhere). Events are written in time order (ties by user), as a shop's log would be. Note that a
funnel repeats items (view -> cart -> purchase of one item), so about half the users' last event
is an item already in their history.
"""

from __future__ import annotations

import argparse
import time
from bisect import bisect_right
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path

import numpy as np
import polars as pl
from tqdm import tqdm

END_TS = 1_717_200_000  # 2024-06-01T00:00:00Z: the log ends here, whatever the wall clock says
DAY = 86_400
EVENT_TYPES = ("view", "click", "cart", "purchase", "search")
VIEW, CLICK, CART, PURCHASE, SEARCH = range(5)
FORMATS = ("csv", "jsonl", "parquet")

MARKUP_ROW = 41  # 0-based row of the markup item in the items file, for every seed
MARKUP_ITEM_ID = "sku-00042"
MARKUP_TITLE = 'Glow <script>alert("x")</script> & "Shine" Lip Gloss'
MARKUP_LEAF = "Lip Gloss"
MARKUP_BRAND = "Velora"
MIN_ITEMS = 100  # at least 3 items a leaf, and room for the markup row

ITEM_SCHEMA = {
    "item_id": pl.String,
    "title": pl.String,
    "categories": pl.String,
    "brand": pl.String,
    "description": pl.String,
    "price": pl.Float64,
}
EVENT_SCHEMA = {
    "user_id": pl.String,
    "item_id": pl.String,
    "timestamp": pl.Int64,
    "event": pl.String,
    "query": pl.String,
}


@dataclass(frozen=True)
class Leaf:
    """A leaf category and how its products are named, priced and used.

    `lines` and `variants` are "Title words:search keyword" strings (the keyword may be empty).
    """

    group: str
    name: str
    noun: str  # product type as it appears in titles and queries
    lines: tuple[str, ...]
    variants: tuple[str, ...]
    sizes: tuple[str, ...]  # ascending; each step up costs more
    price: float  # median price of the smallest size at a mid-tier brand
    weight: float  # relative size of the category (catalogue share and interest prior)
    refill_days: float | None  # typical repurchase interval of a consumable; None = not consumable
    complements: tuple[str, ...] = ()


# The catalogue's vocabulary, kept in the compact layout it was written in.
# fmt: off
_LIP = ("Ruby Red:red", "Nude Rose:nude", "Berry Crush:berry", "Coral Kiss:coral",
        "Mauve Dusk:mauve", "Classic Red:red", "Pink Petal:pink", "Brick Brown:brown")
_SKIN_TONE = ("Porcelain:fair", "Ivory:fair", "Sand:light", "Beige:medium", "Honey:medium",
              "Caramel:tan", "Mocha:deep", "Espresso:deep")
_SKIN_TYPE = ("for Sensitive Skin:sensitive", "for Oily Skin:oily", "for Dry Skin:dry",
              "for All Skin Types:")
_HAIR_TYPE = ("for Dry Hair:dry", "for Curly Hair:curly", "for Fine Hair:fine",
              "for Colored Hair:colored", "for All Hair Types:")
_SCENT = ("Unscented:unscented", "Vanilla:vanilla", "Coconut:coconut", "Lavender:lavender")
_NAILS = ("Cherry Red:red", "Ballet Pink:pink", "Midnight Blue:blue", "Nude Beige:nude",
          "Coral Crush:coral", "Lilac:lilac", "Jet Black:black", "Glitter Gold:glitter")

LEAVES: tuple[Leaf, ...] = (
    # Makeup
    Leaf("Makeup", "Lipstick", "Lipstick",
         ("Velvet Matte:matte", "Satin Shine:satin", "Hydra Cream:creamy",
          "Long-Wear Liquid:long-lasting", "Sheer Tint:sheer"),
         _LIP, ("3.5 g", "4.2 g"), 18.0, 1.6, None, ("Lip Gloss",)),
    Leaf("Makeup", "Lip Gloss", "Lip Gloss",
         ("Glass Shine:shiny", "Plumping:plumping", "Tinted Oil:tinted", "Glitter Pop:glitter"),
         ("Clear:clear", "Pink Shimmer:pink", "Peach:peach", "Rose Gold:gold", "Cherry:red"),
         ("6 ml", "8 ml"), 14.0, 1.0, None, ("Lipstick",)),
    Leaf("Makeup", "Mascara", "Mascara",
         ("Volume Max:volumizing", "Lash Lift:lengthening", "Curl Up:curling",
          "Waterproof Extreme:waterproof", "Natural Definition:natural"),
         ("Black:black", "Blackest Black:black", "Brown Black:brown", "Brown:brown"),
         ("8 ml", "10 ml"), 16.0, 1.4, 55, ("Eyeliner", "Eyeshadow")),
    Leaf("Makeup", "Eyeliner", "Eyeliner",
         ("Precision Liquid:liquid", "Kohl Pencil:pencil", "Gel Ink:gel", "Felt Tip:felt tip"),
         ("Black:black", "Brown:brown", "Navy:navy", "Bronze:bronze", "Emerald:green"),
         ("1 ml", "1.2 g"), 13.0, 1.1, 60, ("Mascara",)),
    Leaf("Makeup", "Eyeshadow", "Eyeshadow Palette",
         ("Nude Edit:nude", "Smoky Nights:smoky", "Sunset Glow:warm", "Jewel Tones:colorful",
          "Matte Basics:matte"),
         ("9 Shades:", "12 Shades:", "18 Shades:"), ("10 g", "14 g"), 32.0, 1.0, None,
         ("Eyeliner", "Mascara")),
    Leaf("Makeup", "Foundation", "Foundation",
         ("Skin Perfect:natural", "Matte Finish 24H:matte", "Dewy Serum:dewy",
          "Full Cover:full coverage"),
         _SKIN_TONE, ("30 ml",), 28.0, 1.3, 50, ("Concealer",)),
    Leaf("Makeup", "Concealer", "Concealer",
         ("Brightening:brightening", "Full Cover:full coverage", "Hydrating:hydrating"),
         _SKIN_TONE[:6], ("6 ml",), 20.0, 0.8, 55, ("Foundation",)),
    # Skin Care
    Leaf("Skin Care", "Cleanser", "Facial Cleanser",
         ("Gentle Foam:gentle", "Gel Purify:gel", "Micellar:micellar", "Oil Cleansing:oil"),
         _SKIN_TYPE, ("150 ml", "250 ml"), 15.0, 1.2, 35, ("Toner",)),
    Leaf("Skin Care", "Toner", "Toner",
         ("Balancing:balancing", "Exfoliating AHA:exfoliating", "Rose Water:rose"),
         _SKIN_TYPE, ("200 ml",), 17.0, 0.7, 40, ("Serum",)),
    Leaf("Skin Care", "Serum", "Face Serum",
         ("Vitamin C Bright:vitamin c", "Hyaluronic Hydra:hyaluronic", "Retinol Night:retinol",
          "Niacinamide 10%:niacinamide"),
         _SKIN_TYPE, ("30 ml", "50 ml"), 32.0, 1.3, 45, ("Moisturizer",)),
    Leaf("Skin Care", "Moisturizer", "Moisturizer",
         ("Daily Hydrating:hydrating", "Rich Repair:rich", "Oil-Free Gel:oil-free",
          "Vegan Barrier:vegan", "SPF 15 Day:spf"),
         _SKIN_TYPE, ("50 ml", "75 ml"), 26.0, 1.5, 40, ("Sunscreen", "Eye Cream")),
    Leaf("Skin Care", "Sunscreen", "Sunscreen",
         ("Invisible Fluid SPF 50:spf 50", "Mineral SPF 30:mineral", "Sport SPF 50+:sport"),
         ("Unscented:unscented", "Tinted:tinted", "for Sensitive Skin:sensitive"),
         ("50 ml", "100 ml"), 19.0, 0.9, 35, ("Moisturizer",)),
    Leaf("Skin Care", "Face Mask", "Face Mask",
         ("Clay Detox:clay", "Hydrating Sheet:sheet", "Overnight Glow:overnight"),
         ("Charcoal:charcoal", "Green Tea:green tea", "Honey:honey", "Rose:rose"),
         ("50 ml", "100 ml"), 16.0, 0.7, 30, ("Serum",)),
    Leaf("Skin Care", "Eye Cream", "Eye Cream",
         ("Depuffing:depuffing", "Firming Peptide:firming", "Caffeine Roll-On:caffeine"),
         ("Fragrance-Free:fragrance-free", "Original:", "Brightening:brightening"),
         ("15 ml", "30 ml"), 38.0, 0.6, 60, ("Serum",)),
    # Hair Care
    Leaf("Hair Care", "Shampoo", "Shampoo",
         ("Vegan Repair:vegan", "Volume Boost:volume", "Sulfate-Free Gentle:sulfate-free",
          "Anti-Dandruff:anti-dandruff", "Color Protect:color"),
         _HAIR_TYPE, ("250 ml", "500 ml"), 11.0, 1.4, 28, ("Conditioner",)),
    Leaf("Hair Care", "Conditioner", "Conditioner",
         ("Vegan Repair:vegan", "Volume Boost:volume", "Silk Smooth:smoothing",
          "Color Protect:color"),
         _HAIR_TYPE, ("250 ml", "500 ml"), 12.0, 1.1, 30, ("Hair Mask", "Shampoo")),
    Leaf("Hair Care", "Hair Mask", "Hair Mask",
         ("Deep Repair:repair", "Argan Nourish:argan", "Keratin Smooth:keratin"),
         _HAIR_TYPE, ("200 ml",), 18.0, 0.6, 40, ("Hair Oil",)),
    Leaf("Hair Care", "Hair Oil", "Hair Oil",
         ("Argan Elixir:argan", "Rosemary Growth:rosemary", "Light Shine:lightweight"),
         _HAIR_TYPE, ("50 ml", "100 ml"), 20.0, 0.6, 50, ("Shampoo",)),
    Leaf("Hair Care", "Hair Spray", "Hair Spray",
         ("Strong Hold:strong hold", "Flexible Hold:flexible", "Heat Protect:heat protection"),
         ("Unscented:unscented", "Fresh:", "Lavender:lavender"), ("250 ml", "400 ml"), 10.0, 0.6,
         35, ("Hair Oil",)),
    # Fragrance
    Leaf("Fragrance", "Eau de Parfum", "Eau de Parfum",
         ("Midnight Oud:oud", "Jardin Blanc:floral", "Amber Noir:amber",
          "Citrus Riviera:citrus", "Velvet Rose:rose"),
         ("for Women:women", "for Men:men", "Unisex:unisex"), ("30 ml", "50 ml", "100 ml"),
         65.0, 1.2, None, ("Body Mist",)),
    Leaf("Fragrance", "Eau de Toilette", "Eau de Toilette",
         ("Aqua Fresh:fresh", "Cedar Wood:woody", "Blue Horizon:aquatic", "Neroli Bloom:neroli"),
         ("for Women:women", "for Men:men", "Unisex:unisex"), ("50 ml", "100 ml"),
         45.0, 0.9, None, ("Body Mist",)),
    Leaf("Fragrance", "Body Mist", "Body Mist",
         ("Vanilla Dream:vanilla", "Coconut Breeze:coconut", "Peony Blush:peony",
          "Cherry Blossom:cherry blossom", "Sea Salt:sea salt"),
         ("Original:", "Shimmer:shimmer"), ("100 ml", "236 ml"), 14.0, 0.6, 45, ("Body Lotion",)),
    # Nails
    Leaf("Nails", "Nail Polish", "Nail Polish",
         ("Gel Effect:gel", "Quick Dry:quick dry", "Long Wear:long-lasting", "Chrome:chrome"),
         _NAILS, ("10 ml", "15 ml"), 9.0, 1.2, None, ("Top Coat",)),
    Leaf("Nails", "Top Coat", "Top Coat",
         ("Gel Shine:gel", "Quick Dry:quick dry", "Matte Finish:matte", "Ridge Filler:base coat",
          "Strengthening:strengthening"),
         ("Clear:clear", "Milky Pink:pink", "Glitter:glitter"), ("10 ml", "15 ml"), 10.0, 0.6, 60,
         ("Nail Polish Remover", "Cuticle Oil")),
    Leaf("Nails", "Nail Polish Remover", "Nail Polish Remover",
         ("Acetone-Free:acetone-free", "Strengthening:strengthening", "Nourishing Oil:nourishing"),
         ("Unscented:unscented", "Lavender:lavender", "Citrus:citrus"), ("100 ml", "200 ml"), 6.0,
         0.5, 40,
         ("Nail Polish",)),
    Leaf("Nails", "Cuticle Oil", "Cuticle Oil",
         ("Almond Nourish:almond", "Vitamin E:vitamin e", "Jojoba Repair:jojoba"),
         ("Original:", "Rose:rose", "Lemon:lemon"), ("10 ml", "15 ml"), 11.0, 0.4, 50,
         ("Hand Cream",)),
    # Bath & Body
    Leaf("Bath & Body", "Body Lotion", "Body Lotion",
         ("Shea Butter:shea", "Daily Moisture:daily", "Firming:firming", "Vegan Oat:oat"),
         _SCENT, ("250 ml", "400 ml"), 12.0, 1.0, 30, ("Shower Gel", "Hand Cream")),
    Leaf("Bath & Body", "Shower Gel", "Shower Gel",
         ("Fresh Citrus:citrus", "Calming Lavender:lavender", "Moisture Rich:moisturizing"),
         ("Original:", "Sensitive:sensitive", "Coconut:coconut", "Vanilla:vanilla"),
         ("250 ml", "500 ml"), 8.0, 0.9, 25,
         ("Body Lotion",)),
    Leaf("Bath & Body", "Hand Cream", "Hand Cream",
         ("Intensive Repair:repair", "Shea Butter:shea", "Rose Garden:rose"),
         _SCENT, ("30 ml", "75 ml"), 9.0, 0.7, 40, ("Cuticle Oil",)),
)

# (name, groups it sells in, price tier: a multiplier on the leaf's median price)
BRANDS: tuple[tuple[str, tuple[str, ...], float], ...] = (
    ("Lumière", ("Makeup", "Fragrance", "Skin Care"), 1.5),
    ("Velora", ("Makeup", "Nails"), 1.0),
    ("Maison Ardent", ("Fragrance", "Makeup", "Bath & Body"), 2.4),
    ("Botanica Pure", ("Skin Care", "Hair Care", "Bath & Body"), 1.0),
    ("Kinsei", ("Skin Care", "Makeup"), 1.6),
    ("Nordlys", ("Skin Care", "Bath & Body", "Hair Care"), 1.1),
    ("Pure Theory", ("Skin Care", "Hair Care"), 0.7),
    ("Claro", ("Makeup", "Nails", "Skin Care"), 0.6),
    ("Solène", ("Fragrance", "Bath & Body", "Skin Care"), 1.7),
    ("Verdant Lab", ("Skin Care", "Hair Care"), 1.2),
    ("Mirelle", ("Makeup", "Nails"), 0.9),
    ("Okoa", ("Hair Care", "Bath & Body"), 0.75),
    ("Saffron Row", ("Fragrance", "Bath & Body"), 1.2),
    ("Halcyon", ("Hair Care", "Skin Care"), 1.5),
    ("Ivoire", ("Makeup", "Skin Care", "Fragrance"), 2.2),
    ("Cielo", ("Makeup", "Hair Care", "Nails"), 0.65),
    ("Fennwick", ("Bath & Body", "Hair Care", "Skin Care"), 0.7),
    ("Rosalind", ("Nails", "Makeup", "Bath & Body"), 1.0),
    ("Aurelle", ("Fragrance", "Skin Care"), 2.6),
    ("Petalwise", ("Makeup", "Skin Care", "Bath & Body"), 0.8),
    ("Studio Nine", ("Makeup", "Nails", "Hair Care"), 1.1),
    ("Marée", ("Skin Care", "Fragrance", "Bath & Body"), 1.6),
)

_BENEFITS = {
    "Makeup": ("Buildable colour that lasts all day.", "Blends easily and stays put.",
               "Cruelty-free and dermatologist tested.", "A weightless feel with rich pigment."),
    "Skin Care": ("Dermatologist tested and suitable for daily use.",
                  "A lightweight texture that absorbs quickly.",
                  "Free from parabens and added fragrance.", "Visible results in four weeks."),
    "Hair Care": ("Leaves hair soft, shiny and easy to style.", "Safe for colour-treated hair.",
                  "Made without silicones or parabens.", "Strengthens hair from root to tip."),
    "Fragrance": ("A long-lasting scent for day and night.", "Hand-blended in small batches.",
                  "A signature scent with a soft dry-down.", "Presented in a refillable bottle."),
    "Nails": ("Chip-resistant shine for up to ten days.", "Free from the ten harshest chemicals.",
              "A smooth finish in two coats.", "Dries in under a minute."),
    "Bath & Body": ("Leaves skin soft and lightly scented.", "Made with natural oils and butters.",
                    "Gentle enough for everyday use.", "A rich texture that melts into skin."),
}
# fmt: on


_LEAF_INDEX = {leaf.name: i for i, leaf in enumerate(LEAVES)}
_LEAF_P = np.array([leaf.weight for leaf in LEAVES]) / sum(leaf.weight for leaf in LEAVES)
_LEAF_GROUP = np.array([leaf.group for leaf in LEAVES])


@dataclass(frozen=True)
class SynthConfig:
    """Sizes and behaviour of the synthetic shop. The defaults give ~73k events in ~2-3 s."""

    seed: int = 0
    n_items: int = 1200
    n_users: int = 2000
    days: int = 60  # length of the log, ending at END_TS
    # catalogue
    zipf_s: float = 1.1  # exponent of product popularity within a leaf
    trending_fraction: float = 0.025  # share of items that trend in the last `trend_days`
    trend_days: int = 7
    trend_boost: float = 12.0  # a trending item's weight reaches (1 + boost) x at END_TS
    markup_weight: float = 0.05  # the markup item's weight, as a fraction of its leaf's mean item
    # users
    sessions_mean: float = 7.0  # sessions per user: 2 + negative binomial with this mean
    interest_coherence: float = 0.75  # chance that a further interest is in the first one's group
    # sessions
    p_same_leaf_session: float = 0.20  # session continues the previous session's category
    p_complement_session: float = 0.12  # session moves to a complement of the previous category
    p_explore_session: float = 0.05  # session in a random category (by popularity)
    p_search_start: float = 0.35
    views_mean: float = 3.0  # further item views in a session (geometric)
    p_complement_step: float = 0.08  # a further view steps to a complementary category
    p_interest_step: float = 0.05  # a further view steps to another of the user's interests
    p_cart: float = 0.12  # per view
    p_checkout: float = 0.65  # a session with a cart ends in a purchase
    p_refill: float = 0.75  # a due consumable is bought again at the next session
    p_return_to_cart: float = 0.5
    p_trending_click: float = 0.3  # at END_TS; ramps up over the trending window


@dataclass(frozen=True)
class Shop:
    """What `generate` returns: the two tables of DATA.md plus the users' hidden profiles."""

    items: pl.DataFrame
    events: pl.DataFrame
    users: pl.DataFrame  # user_id, interests (leaf names), interest_weights, price_sensitivity, ...
    trending: tuple[str, ...]  # ids of the items whose popularity rises in the last `trend_days`


@dataclass
class _Catalog:
    """Column arrays over items (row order = file order) and per-leaf indexes into them."""

    leaf: np.ndarray  # (N,) leaf index into LEAVES
    brand: np.ndarray  # (N,) brand index into BRANDS
    product: np.ndarray  # (N,) product id (brand + line within a leaf)
    price_rel: np.ndarray  # (N,) price / leaf median: what price sensitivity acts on
    weight: np.ndarray  # (N,) global base popularity (sums to 1)
    trending: np.ndarray  # (N,) bool
    line_kw: list[str]
    variant_kw: list[str]
    frame: pl.DataFrame
    by_leaf: list[np.ndarray]  # leaf -> item rows
    pos: np.ndarray  # (N,) position of each item within by_leaf[its leaf]
    leaf_product: list[np.ndarray]  # leaf -> product[by_leaf[leaf]], and so on: per-leaf views
    leaf_brand: list[np.ndarray]
    leaf_trending: list[np.ndarray]
    # plain-list copies of leaf/brand/product/pos: scalar look-ups in the simulation loop are
    # several times faster on lists than on numpy arrays
    leaf_of: list[int] = field(default_factory=list)
    brand_of: list[int] = field(default_factory=list)
    product_of: list[int] = field(default_factory=list)
    pos_of: list[int] = field(default_factory=list)
    _ctx: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.leaf_of = self.leaf.tolist()
        self.brand_of = self.brand.tolist()
        self.product_of = self.product.tolist()
        self.pos_of = self.pos.tolist()

    def context_boost(self, leaf: int, ctx: int) -> np.ndarray:
        """(n_leaf,) multipliers on `leaf`'s items while the user looks at item `ctx`: in its own
        leaf, siblings (other shades and sizes) x8 and the same brand x2 (the item itself x1); in a
        complementary leaf, the same brand x3. Memoised: (leaf, item) pairs recur across users."""
        key = (leaf, ctx)
        if key not in self._ctx:
            same_brand = self.leaf_brand[leaf] == self.brand_of[ctx]
            if self.leaf_of[ctx] == leaf:
                boost = np.where(self.leaf_product[leaf] == self.product_of[ctx], 8.0, np.where(same_brand, 2.0, 1.0))
                boost[self.pos_of[ctx]] = 1.0  # the item itself: no sibling bonus
            else:
                boost = np.where(same_brand, 3.0, 1.0)
            self._ctx[key] = boost
        return self._ctx[key]


def _split(spec: str) -> tuple[str, str]:
    """'Velvet Matte:matte' -> ('Velvet Matte', 'matte')."""
    words, _, keyword = spec.partition(":")
    return words, keyword


def _allocate(total: int, weights: np.ndarray, minimum: int) -> np.ndarray:
    """Split `total` into integer parts proportional to `weights`, each >= minimum (largest
    remainder, so the parts sum exactly to `total`)."""
    spare = total - minimum * len(weights)
    share = spare * weights / weights.sum()
    parts = np.floor(share).astype(np.int64)
    order = np.argsort(-(share - parts), kind="stable")
    parts[order[: spare - parts.sum()]] += 1
    return parts + minimum


def build_catalog(cfg: SynthConfig, rng: np.random.Generator) -> _Catalog:
    """Draw the catalogue: products per leaf, their variants, prices, popularity and trends."""
    if cfg.n_items < MIN_ITEMS:
        raise ValueError(f"--items must be >= {MIN_ITEMS}")
    brand_pop = rng.lognormal(0.0, 0.6, len(BRANDS))  # some brands are simply bigger
    leaf_w = np.array([leaf.weight for leaf in LEAVES])
    counts = _allocate(cfg.n_items, leaf_w, 3)
    markup_leaf = next(i for i, leaf in enumerate(LEAVES) if leaf.name == MARKUP_LEAF)

    rows: list[dict] = []  # one per item, in generation order (shuffled below)
    n_products = 0
    for li, leaf in enumerate(LEAVES):
        brands = [b for b, (_, groups, _) in enumerate(BRANDS) if leaf.group in groups]
        bp = brand_pop[brands] / brand_pop[brands].sum()
        need = counts[li] - (li == markup_leaf)  # the markup item is one of this leaf's items
        leaf_rows: list[dict] = []
        used_titles: set[str] = set()
        used_products: dict[tuple[int, int], int] = {}
        base_price: dict[int, float] = {}  # product -> price of its smallest size
        misses = 0
        while len(leaf_rows) < need:
            brand = brands[rng.choice(len(brands), p=bp)]
            line = int(rng.integers(len(leaf.lines)))
            product = used_products.setdefault((brand, line), n_products)
            n_products += product == n_products
            base = leaf.price * BRANDS[brand][2] * rng.lognormal(0.0, 0.25)
            base = base_price.setdefault(product, base)  # more variants of a known product
            n_var = min(int(rng.geometric(0.55)), 4, need - len(leaf_rows))
            combos = rng.permutation(len(leaf.variants) * len(leaf.sizes))
            made = 0
            for c in combos:
                if made == n_var:
                    break
                vi, si = divmod(int(c), len(leaf.sizes))
                line_words, line_kw = _split(leaf.lines[line])
                variant, variant_kw = _split(leaf.variants[vi])
                title = f"{BRANDS[brand][0]} {line_words} {leaf.noun}"
                title += f", {variant}" if variant and variant != "Original" else ""
                title += f", {leaf.sizes[si]}"
                if title in used_titles:
                    continue
                used_titles.add(title)
                price = base * (1.0 + 0.55 * si)
                leaf_rows.append(
                    dict(
                        leaf=li,
                        brand=brand,
                        product=product,
                        title=title,
                        line=line_words,
                        line_kw=line_kw,
                        variant=variant,
                        variant_kw=variant_kw,
                        size=leaf.sizes[si],
                        price=price,
                        rel=base / leaf.price,
                    )
                )
                made += 1
            misses = 0 if made else misses + 1
            if misses > 500:
                raise ValueError(f"--items too large: leaf {leaf.name} ran out of distinct titles")
        if li == markup_leaf:
            price = leaf.price * BRANDS[_brand_index(MARKUP_BRAND)][2] * rng.lognormal(0.0, 0.25)
            leaf_rows.append(
                dict(
                    leaf=li,
                    brand=_brand_index(MARKUP_BRAND),
                    product=n_products,
                    title=MARKUP_TITLE,
                    line="Glow",
                    line_kw="glow",
                    variant="",
                    variant_kw="",
                    size="6 ml",
                    price=price,
                    rel=price / leaf.price,
                    markup=True,
                )
            )
            n_products += 1
        _popularity(leaf_rows, leaf_w[li] / leaf_w.sum(), cfg, rng)
        rows.extend(leaf_rows)

    order = rng.permutation(len(rows))
    markup_at = next(k for k, r in enumerate(order) if rows[r].get("markup"))
    order[[markup_at, MARKUP_ROW]] = order[[MARKUP_ROW, markup_at]]
    rows = [rows[r] for r in order]

    weight = np.array([r["weight"] for r in rows])
    trending = np.zeros(len(rows), dtype=bool)
    # trend among mid-tail items (not the leaf's head, not the markup item): that is what "rising"
    # looks like, and a model must notice recency to rank them
    candidates = np.array(
        [
            k
            for k, r in enumerate(rows)
            if not r.get("markup")
            and max(1.0, 0.1 * counts[r["leaf"]]) <= r["tail_rank"] < max(2.0, 0.6 * counts[r["leaf"]])
        ],
        dtype=np.int64,
    )
    n_trend = max(1, round(cfg.trending_fraction * len(rows)))
    trending[rng.choice(candidates, size=min(n_trend, len(candidates)), replace=False)] = True

    prices = [float(f"{max(r['price'], 1.5):.2f}") for r in rows]
    frame = pl.DataFrame(
        {
            "item_id": [f"sku-{k + 1:05d}" for k in range(len(rows))],
            "title": [r["title"] for r in rows],
            "categories": [f"Beauty|{LEAVES[r['leaf']].group}|{LEAVES[r['leaf']].name}" for r in rows],
            "brand": [BRANDS[r["brand"]][0] for r in rows],
            "description": [_describe(r, rng) for r in rows],
            "price": prices,
        },
        schema=ITEM_SCHEMA,
    )
    leaf_arr = np.array([r["leaf"] for r in rows])
    brand = np.array([r["brand"] for r in rows])
    product = np.array([r["product"] for r in rows])
    by_leaf = [np.flatnonzero(leaf_arr == li) for li in range(len(LEAVES))]
    pos = np.zeros(len(rows), dtype=np.int64)
    for members in by_leaf:
        pos[members] = np.arange(len(members))
    return _Catalog(
        leaf=leaf_arr,
        brand=brand,
        product=product,
        price_rel=np.array([r["rel"] for r in rows]),
        weight=weight / weight.sum(),
        trending=trending,
        line_kw=[r["line_kw"] for r in rows],
        variant_kw=[r["variant_kw"] for r in rows],
        frame=frame,
        by_leaf=by_leaf,
        pos=pos,
        leaf_product=[product[m] for m in by_leaf],
        leaf_brand=[brand[m] for m in by_leaf],
        leaf_trending=[trending[m].astype(np.float64) for m in by_leaf],
    )


def _draw(rng: np.random.Generator, weights: np.ndarray | list[float]) -> int:
    """An index drawn proportionally to `weights`: rng.choice(p=...) without its overhead."""
    if isinstance(weights, np.ndarray):
        cdf = weights.cumsum()
        k = int(cdf.searchsorted(rng.random() * cdf[-1], side="right"))
    else:
        cdf = list(accumulate(weights))
        k = bisect_right(cdf, rng.random() * cdf[-1])
    return min(k, len(cdf) - 1)


def _below(rng: np.random.Generator, n: int) -> int:
    """A uniform integer in [0, n): rng.integers without its overhead."""
    return min(int(rng.random() * n), n - 1)


def _brand_index(name: str) -> int:
    """Index of a brand in BRANDS by name."""
    return next(b for b, (n, _, _) in enumerate(BRANDS) if n == name)


def _popularity(rows: list[dict], leaf_share: float, cfg: SynthConfig, rng: np.random.Generator) -> None:
    """Give each row of one leaf a base weight (Zipf over products in a random order, split over
    variants by a Dirichlet) summing to `leaf_share`, and its popularity rank (`tail_rank`)."""
    products = sorted({r["product"] for r in rows if not r.get("markup")})
    ranks = rng.permutation(len(products))
    product_w = {p: (ranks[k] + 1.0) ** -cfg.zipf_s for k, p in enumerate(products)}
    members: dict[int, list[dict]] = {}
    for r in rows:
        members.setdefault(r["product"], []).append(r)
    for p, rs in members.items():
        if rs[0].get("markup"):
            continue
        split = rng.dirichlet(np.full(len(rs), 2.0))
        for r, s in zip(rs, split):
            r["weight"] = product_w[p] * s
    others = [r["weight"] for r in rows if not r.get("markup")]
    for r in rows:
        if r.get("markup"):
            r["weight"] = cfg.markup_weight * sum(others) / len(others)
    total = sum(r["weight"] for r in rows)
    by_weight = sorted(range(len(rows)), key=lambda k: -rows[k]["weight"])
    for rank, k in enumerate(by_weight):
        rows[k]["weight"] *= leaf_share / total
        rows[k]["tail_rank"] = rank


def _describe(row: dict, rng: np.random.Generator) -> str:
    """A plain-text product description built from the row's attributes."""
    leaf = LEAVES[row["leaf"]]
    variant = row["variant"]
    if not variant or variant == "Original":
        variant_part = ""
    elif variant.startswith("for ") or variant in ("Unisex",):
        variant_part = f", {variant.lower()}"
    else:
        variant_part = f", in {variant}"
    keyword = row["variant_kw"]
    if keyword and keyword not in variant.lower():  # "in Beige (medium)": searchable words
        variant_part += f" ({keyword})"
    benefit = _BENEFITS[leaf.group][int(rng.integers(len(_BENEFITS[leaf.group])))]
    kw = row["line_kw"] or leaf.noun.lower()
    article = "an" if kw[0] in "aeiou" else "a"
    brand = BRANDS[row["brand"]][0]
    return (
        f"{row['line']} {leaf.noun.lower()} by {brand}: {article} {kw} formula{variant_part}. "
        f"{benefit} Size: {row['size']}."
    )


@dataclass(frozen=True)
class _User:
    """A user's hidden profile."""

    interests: np.ndarray  # (k,) leaf indices, k in 1..3
    mix: np.ndarray  # (k,) Dirichlet weights over `interests`
    beta: float  # price sensitivity
    favorite_brand: int
    n_sessions: int
    join_ts: int


def sample_user(cfg: SynthConfig, rng: np.random.Generator) -> _User:
    """Draw one user's interests, price sensitivity, favourite brand and activity."""
    leaf_w = _LEAF_P
    groups = _LEAF_GROUP
    k = 1 + _draw(rng, [0.3, 0.45, 0.25])
    first = _draw(rng, leaf_w)
    chosen = [first]
    while len(chosen) < k:
        same = groups == groups[first] if rng.random() < cfg.interest_coherence else True
        w = np.where(same, leaf_w, 0.0)
        w[chosen] = 0.0
        if w.sum() == 0:
            w = leaf_w.copy()
            w[chosen] = 0.0
        chosen.append(_draw(rng, w))
    mix = rng.dirichlet(np.full(k, 1.5))
    sellers = [b for b, (_, gs, _) in enumerate(BRANDS) if LEAVES[first].group in gs]
    extra = cfg.sessions_mean - 2.0
    n_sessions = 2 + int(rng.negative_binomial(1.2, 1.2 / (1.2 + extra)))
    span = cfg.days * DAY
    join_ts = start_ts(cfg) + int(rng.uniform(0.0, 0.67) * span)
    return _User(
        interests=np.array(chosen),
        mix=mix,
        beta=float(np.clip(rng.normal(0.9, 0.7), -0.8, 2.5)),
        favorite_brand=int(rng.choice(sellers)),
        n_sessions=min(n_sessions, 60),
        join_ts=join_ts,
    )


def start_ts(cfg: SynthConfig) -> int:
    """First second of the log."""
    return END_TS - cfg.days * DAY


# fmt: off
_HOUR_W = np.array([1, 0.6, 0.4, 0.3, 0.3, 0.4, 0.8, 1.5, 2, 2.2, 2.3, 2.5,
                    3, 3, 2.6, 2.4, 2.5, 2.8, 3.4, 4.2, 4.6, 4.2, 3, 1.8])
# fmt: on
_HOUR_P = _HOUR_W / _HOUR_W.sum()  # diurnal shape of session starts (UTC, one market)


class _Shopper:
    """Simulates one user's sessions; appends (timestamp, event, item, query) to its lists."""

    def __init__(self, cfg: SynthConfig, cat: _Catalog, user: _User, rng: np.random.Generator):
        self.cfg, self.cat, self.user, self.rng = cfg, cat, user, rng
        self.ts: list[int] = []
        self.ev: list[int] = []
        self.item: list[int] = []
        self.query: list[str | None] = []
        self.t = 0
        self._weights: dict[int, np.ndarray] = {}
        self.due: dict[int, int] = {}  # consumable item -> when it runs out
        self.abandoned: list[int] = []
        self.trend_start = END_TS - cfg.trend_days * DAY

    # -- primitives ------------------------------------------------------------------------------
    def emit(self, event: int, item: int, query: str | None = None, gap: float = 40.0) -> None:
        """Append an event `gap` seconds (lognormal around it) after the previous one."""
        self.t += 1 + int(self.rng.lognormal(np.log(gap), 0.6))
        self.ts.append(self.t)
        self.ev.append(event)
        self.item.append(item)
        self.query.append(query)

    def ramp(self) -> float:
        """0 before the trending window, rising linearly to 1 at END_TS."""
        return min(1.0, max(0.0, (self.t - self.trend_start) / (END_TS - self.trend_start)))

    def leaf_weights(self, leaf: int) -> np.ndarray:
        """This user's static weights over a leaf's items: popularity x price fit x brand."""
        if leaf not in self._weights:
            rows = self.cat.by_leaf[leaf]
            w = self.cat.weight[rows] * self.cat.price_rel[rows] ** -self.user.beta
            w = w * np.where(self.cat.brand[rows] == self.user.favorite_brand, 3.0, 1.0)
            self._weights[leaf] = w
        return self._weights[leaf]

    def pick(self, leaf: int, ctx: int | None, seen: list[int]) -> int:
        """Draw the next item of `leaf`, given the item the user is looking at (`ctx`)."""
        cat = self.cat
        w = self.leaf_weights(leaf)  # (n_leaf,)
        ramp = self.ramp()
        if ramp > 0.0:
            w = w * (1.0 + self.cfg.trend_boost * ramp * cat.leaf_trending[leaf])
        w = w * cat.context_boost(leaf, ctx) if ctx is not None else w.copy()
        for item in seen:  # rather something new than what this session already showed
            if cat.leaf_of[item] == leaf:
                w[cat.pos_of[item]] *= 0.15
        return int(cat.by_leaf[leaf][_draw(self.rng, w)])

    def make_query(self, item: int) -> str:
        """Search words a user would type to find `item`: its noun plus a keyword or its brand."""
        noun = LEAVES[self.cat.leaf_of[item]].noun.lower()
        brand = BRANDS[self.cat.brand_of[item]][0].lower()
        line_kw, variant_kw = self.cat.line_kw[item], self.cat.variant_kw[item]
        options = [noun, f"{line_kw} {noun}", f"{brand} {noun}", brand, f"{brand} {line_kw}"]
        weights = [2.0, 4.0 if line_kw else 0.0, 2.0, 0.5, 0.5 if line_kw else 0.0]
        if variant_kw:
            options.append(f"{variant_kw} {noun}")
            weights.append(2.0)
        return options[_draw(self.rng, weights)]

    def search_and_click(self, leaf: int, ctx: int | None, seen: list[int]) -> int:
        """A search whose result the user clicks: a search row (carrying that item) then a click."""
        item = self.pick(leaf, ctx, seen)
        self.emit(SEARCH, item, self.make_query(item), gap=30.0)
        self.emit(CLICK, item, gap=8.0)
        return item

    def buy(self, item: int) -> None:
        """A purchase row; consumables become due again after their refill interval."""
        self.emit(PURCHASE, item, gap=90.0)
        days = LEAVES[self.cat.leaf_of[item]].refill_days
        if days is not None:
            self.due[item] = self.t + int(days * self.rng.uniform(0.75, 1.3) * DAY)

    # -- sessions --------------------------------------------------------------------------------
    def next_leaf(self, prev: int | None) -> int:
        """The main category of a new session."""
        cfg, rng = self.cfg, self.rng
        r = rng.random()
        if prev is not None:
            if r < cfg.p_same_leaf_session:
                return prev
            comps = LEAVES[prev].complements
            if r < cfg.p_same_leaf_session + cfg.p_complement_session and comps:
                return _LEAF_INDEX[comps[_below(rng, len(comps))]]
        if rng.random() < cfg.p_explore_session:
            return _draw(rng, _LEAF_P)
        return int(self.user.interests[_draw(rng, self.user.mix)])

    def session(self, prev_leaf: int | None, min_events: int = 0) -> int:
        """Simulate one session starting at `self.t`, browsing on until the user has at least
        `min_events` events in all; returns the session's last category."""
        cfg, rng, cat = self.cfg, self.rng, self.cat
        seen: list[int] = []
        cart: list[int] = []
        leaf = self.next_leaf(prev_leaf)
        cur: int | None = None

        due = sorted((d, i) for i, d in self.due.items() if d <= self.t)
        if due and rng.random() < cfg.p_refill:  # a consumable has run out
            item = due[0][1]
            del self.due[item]
            if rng.random() < 0.3:
                brand = BRANDS[cat.brand_of[item]][0].lower()
                noun = LEAVES[cat.leaf_of[item]].noun.lower()
                self.emit(SEARCH, item, f"{brand} {noun}", gap=30.0)
                self.emit(CLICK, item, gap=8.0)
            else:
                self.emit(VIEW, item)
            if rng.random() < 0.15:  # try another shade / size instead
                item = self.pick(cat.leaf_of[item], item, [item])
                self.emit(VIEW, item)
            cur, leaf = item, cat.leaf_of[item]
            seen.append(item)
            if rng.random() < 0.9:
                self.emit(CART, item, gap=20.0)
                cart.append(item)
        elif self.abandoned and rng.random() < cfg.p_return_to_cart:
            item = self.abandoned.pop()
            self.emit(VIEW, item)
            cur, leaf = item, cat.leaf_of[item]
            seen.append(item)
            cart.append(item)  # still in the cart from last time
        elif rng.random() < cfg.p_trending_click * self.ramp():  # home-page trending carousel
            rows = np.flatnonzero(cat.trending)
            w = cat.weight[rows] * cat.price_rel[rows] ** -self.user.beta
            item = int(rows[_draw(rng, w)])
            self.emit(CLICK, item)
            seen.append(item)
            if rng.random() < 0.6:
                cur, leaf = item, cat.leaf_of[item]
            elif rng.random() < cfg.p_cart:
                self.emit(CART, item, gap=20.0)
                cart.append(item)

        if cur is None:
            if rng.random() < cfg.p_search_start:
                cur = self.search_and_click(leaf, None, seen)
            else:
                cur = self.pick(leaf, None, seen)
                self.emit(CLICK if rng.random() < 0.15 else VIEW, cur)
            seen.append(cur)
            if rng.random() < cfg.p_cart:
                self.emit(CART, cur, gap=20.0)
                cart.append(cur)

        n_more = int(rng.geometric(1.0 / (1.0 + cfg.views_mean))) - 1
        step = 0
        while step < n_more or len(self.ts) < min_events:
            step += 1
            r = rng.random()
            if r < cfg.p_complement_step and LEAVES[leaf].complements:
                comps = LEAVES[leaf].complements
                leaf = _LEAF_INDEX[comps[_below(rng, len(comps))]]
            elif r < cfg.p_complement_step + cfg.p_interest_step and len(self.user.interests) > 1:
                leaf = int(self.user.interests[_below(rng, len(self.user.interests))])
            if leaf != cat.leaf_of[cur] and rng.random() < 0.35:
                cur = self.search_and_click(leaf, cur, seen)
            else:
                cur = self.pick(leaf, cur, seen)
                self.emit(CLICK if rng.random() < 0.15 else VIEW, cur)
            seen.append(cur)
            if cur not in cart and rng.random() < cfg.p_cart:
                self.emit(CART, cur, gap=20.0)
                cart.append(cur)

        if cart:
            if rng.random() < cfg.p_checkout:
                for item in cart:
                    self.buy(item)
            else:
                self.abandoned = [i for i in self.abandoned if i not in cart] + cart[-1:]
        return leaf

    def run(self) -> None:
        """All of the user's sessions, at diurnal times between joining and END_TS."""
        rng, user = self.rng, self.user
        when = rng.uniform(user.join_ts, END_TS - 3600, user.n_sessions)
        day0 = (when - start_ts(self.cfg)) // DAY
        hours = rng.choice(24, size=user.n_sessions, p=_HOUR_P)
        starts = np.sort(
            start_ts(self.cfg) + day0 * DAY + hours * 3600 + rng.integers(0, 3600, user.n_sessions)
        ).astype(np.int64)
        prev = None
        for k, start in enumerate(starts):
            # sessions never overlap: a new one starts at least 30 minutes after the last event
            t = max(int(start), self.t + 1800 + _below(rng, 1800))
            if t >= END_TS - 3600 and len(self.ts) >= 3:
                break
            self.t = t
            # leave-one-out needs 3 events a user: the last session browses until there are
            prev = self.session(prev, min_events=3 if k == len(starts) - 1 else 0)


def generate(cfg: SynthConfig, progress: bool = False) -> Shop:
    """Build the catalogue and simulate every user; deterministic in `cfg`."""
    root = np.random.SeedSequence(cfg.seed)
    catalog_seq, users_seq = root.spawn(2)
    cat = build_catalog(cfg, np.random.default_rng(catalog_seq))
    # one child stream per user: changing --users does not reshuffle the others' behaviour
    user_seqs = users_seq.spawn(cfg.n_users)

    ts, ev, item, query, who = [], [], [], [], []
    profiles = []
    bar = tqdm(user_seqs, desc="users", unit="user", delay=3.0, disable=not progress)
    for u, seq in enumerate(bar):
        rng = np.random.default_rng(seq)
        user = sample_user(cfg, rng)
        shopper = _Shopper(cfg, cat, user, rng)
        shopper.run()
        ts += shopper.ts
        ev += shopper.ev
        item += shopper.item
        query += shopper.query
        who += [u] * len(shopper.ts)
        profiles.append(user)

    ts_arr = np.array(ts, dtype=np.int64)
    order = np.argsort(ts_arr, kind="stable")  # a shop log: time order, ties by user
    user_ids = np.array([f"user-{u + 1:05d}" for u in range(cfg.n_users)])
    item_ids = cat.frame["item_id"].to_numpy()
    events = pl.DataFrame(
        {
            "user_id": user_ids[np.array(who, dtype=np.int64)[order]],
            "item_id": item_ids[np.array(item, dtype=np.int64)[order]],
            "timestamp": ts_arr[order],
            "event": np.array(EVENT_TYPES)[np.array(ev, dtype=np.int64)[order]],
            "query": [query[k] for k in order],
        },
        schema=EVENT_SCHEMA,
    )
    users = pl.DataFrame(
        {
            "user_id": user_ids,
            "interests": [[LEAVES[i].name for i in p.interests] for p in profiles],
            "interest_weights": [p.mix.tolist() for p in profiles],
            "price_sensitivity": [p.beta for p in profiles],
            "favorite_brand": [BRANDS[p.favorite_brand][0] for p in profiles],
        }
    )
    trending = tuple(item_ids[cat.trending].tolist())
    return Shop(items=cat.frame, events=events, users=users, trending=trending)


def write(shop: Shop, out: Path, fmt: str = "csv") -> list[Path]:
    """Write `items.<fmt>` and `events.<fmt>` into `out`; returns the two paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, frame in (("items", shop.items), ("events", shop.events)):
        path = out / f"{name}.{fmt}"
        if fmt == "csv":
            frame.write_csv(path)
        elif fmt == "jsonl":
            frame.write_ndjson(path)
        elif fmt == "parquet":
            frame.write_parquet(path, compression="zstd", statistics=True)
        else:
            raise ValueError(f"unknown format {fmt!r}; expected one of {FORMATS}")
        paths.append(path)
    return paths


def read(out: Path, fmt: str = "csv") -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read back what `write` wrote, with the DATA.md column types: (items, events)."""
    frames = []
    for name, schema in (("items", ITEM_SCHEMA), ("events", EVENT_SCHEMA)):
        path = out / f"{name}.{fmt}"
        if fmt == "csv":
            frame = pl.read_csv(path, schema=schema)
        elif fmt == "jsonl":
            frame = pl.read_ndjson(path, schema=schema)
        elif fmt == "parquet":
            frame = pl.read_parquet(path)
        else:
            raise ValueError(f"unknown format {fmt!r}; expected one of {FORMATS}")
        frames.append(frame)
    return frames[0], frames[1]


def main(argv: list[str] | None = None) -> None:
    """Command line: generate a shop and write it in one format (or all three)."""
    ap = argparse.ArgumentParser(prog="python -m edgerec.synth", description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--items", type=int, default=SynthConfig.n_items)
    ap.add_argument("--users", type=int, default=SynthConfig.n_users)
    ap.add_argument("--format", choices=[*FORMATS, "all"], default="csv")
    args = ap.parse_args(argv)

    if args.items < MIN_ITEMS or args.users < 1:
        ap.error(f"--items must be >= {MIN_ITEMS} and --users >= 1")
    started = time.perf_counter()
    try:
        shop = generate(SynthConfig(seed=args.seed, n_items=args.items, n_users=args.users), progress=True)
    except ValueError as err:  # a catalogue too large for the title space
        ap.error(str(err))
    elapsed = time.perf_counter() - started
    formats = FORMATS if args.format == "all" else (args.format,)
    paths = [p for fmt in formats for p in write(shop, args.out, fmt)]
    counts = shop.events["event"].value_counts().sort("event")
    print(
        f"{len(shop.items)} items, {shop.events['user_id'].n_unique()} users, "
        f"{len(shop.events)} events in {elapsed:.1f} s"
    )
    print("  " + ", ".join(f"{e}: {n}" for e, n in counts.iter_rows()))
    for p in paths:
        print(f"  {p}  {p.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
