"""The cart camera's view and everything drawn in it, shared by feeds and training data.

Geometry: the basket is a box seen from a camera on the cart handle, looking down and forward.
Its rim is ``basket_polygon`` (what ``meta.json`` records: the inside of the basket as the camera
sees it); its floor is the same quad shrunk toward the far end, because it lies deeper. A point
in the basket is ``(u, v, h)``: ``u`` across (0 left, 1 right), ``v`` along (0 far, 1 near) and
``h`` height (0 on the floor, 1 at the rim, >1 above it); image position and pixel scale follow by
interpolating between the floor's and the rim's homographies, so held items grow as they rise.

Drawing: the static background (store floor, mesh walls and floor, rim) is drawn once; products
are BGRA sprites pasted with their alpha; hands are drawn with cv2 primitives into a small BGRA
patch. Anything moving is drawn into a ``Layer`` (premultiplied float, its own ROI) so it can be
motion-blurred with its alpha before it is composited. Every paste can also write an object id
into a ``labels`` map, from which the training set takes tight boxes of the visible parts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from smartcart.catalog import Product

DEFAULT_POLYGON: tuple[tuple[float, float], ...] = (
    (0.14, 0.20),
    (0.86, 0.20),
    (0.97, 0.97),
    (0.03, 0.97),
)
BASKET_WIDTH_CM = 52.0  # inner width of a typical cart basket at the rim
RIM_HEIGHT_FACTOR = 1.3  # how much bigger a thing at rim height looks than on the floor

# Longest side in cm, by coarse class, with per-SKU overrides: a melon is bigger than a lime,
# a litre carton is 20 cm tall. Anything missing falls back to a sphere of water's density.
_LENGTH_CM_BY_COARSE = {
    "Apple": 8, "Avocado": 10, "Banana": 20, "Kiwi": 7, "Lemon": 8, "Lime": 6, "Mango": 12,
    "Melon": 18, "Nectarine": 7, "Orange": 8, "Papaya": 16, "Passion-Fruit": 7, "Peach": 7,
    "Pear": 11, "Pineapple": 32, "Plum": 8, "Pomegranate": 9, "Red-Grapefruit": 10,
    "Satsumas": 12, "Juice": 20, "Milk": 20, "Oatghurt": 20, "Oat-Milk": 20, "Sour-Cream": 11,
    "Sour-Milk": 20, "Soyghurt": 15, "Soy-Milk": 20, "Yoghurt": 20, "Asparagus": 22,
    "Aubergine": 20, "Cabbage": 18, "Carrots": 18, "Cucumber": 25, "Garlic": 6, "Ginger": 10,
    "Leek": 35, "Mushroom": 12, "Onion": 12, "Pepper": 10, "Potato": 14, "Red-Beet": 12,
    "Tomato": 9, "Zucchini": 22,
}  # fmt: skip
_LENGTH_CM_BY_SKU = {"watermelon": 26, "cantaloupe": 16, "sweet-potato": 16, "vine-tomato": 16,
                     "regular-tomato": 12}  # fmt: skip


BGR = tuple[float, float, float]


def bgr(values: np.ndarray | tuple[float, ...]) -> BGR:
    """Three channel values as a plain BGR float triple (what cv2 colours and our types want)."""
    b, g, r = (float(v) for v in values)
    return b, g, r


def product_length_cm(product: Product) -> float:
    """Longest side of the product (as its iconic image shows it), in cm."""
    if product.sku in _LENGTH_CM_BY_SKU:
        return float(_LENGTH_CM_BY_SKU[product.sku])
    if product.coarse in _LENGTH_CM_BY_COARSE:
        return float(_LENGTH_CM_BY_COARSE[product.coarse])
    return float((6 * product.unit_weight_g / math.pi) ** (1 / 3))


@dataclass(frozen=True)
class BasketView:
    """Where the basket is in an image of ``size_px``, and how big things look in it."""

    size_px: tuple[int, int]  # (width, height)
    polygon_norm: tuple[tuple[float, float], ...] = (
        DEFAULT_POLYGON  # far-left, far-right, near-right, near-left
    )
    floor_shrink: float = 0.12  # the floor quad, as a share of the rim quad pulled inward
    _rim_h: np.ndarray = field(init=False, repr=False, compare=False)
    _floor_h: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        w, h = self.size_px
        rim = (np.array(self.polygon_norm) * (w, h)).astype(np.float32)
        centre = rim.mean(axis=0)
        # The floor is further away: shrunk toward the centre, and more so at the near edge,
        # which is where the camera looks down the steepest.
        floor = (rim + (centre - rim) * self.floor_shrink).astype(np.float32)
        floor[2:, 1] -= self.floor_shrink * (rim[2:, 1] - rim[:2, 1].mean()) * 0.8
        unit = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float32)
        object.__setattr__(self, "_rim_h", cv2.getPerspectiveTransform(unit, rim))
        object.__setattr__(self, "_floor_h", cv2.getPerspectiveTransform(unit, floor))

    @property
    def polygon_px(self) -> np.ndarray:
        return (np.array(self.polygon_norm) * self.size_px).astype(np.float32)

    def floor_polygon_px(self) -> np.ndarray:
        return self._apply(self._floor_h, np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float32))

    @staticmethod
    def _apply(hom: np.ndarray, uv: np.ndarray) -> np.ndarray:
        return cv2.perspectiveTransform(uv.reshape(-1, 1, 2).astype(np.float32), hom).reshape(-1, 2)

    def to_image(self, u: float, v: float, h: float = 0.0) -> tuple[float, float]:
        """Image position (px) of basket point (u, v) at height h."""
        uv = np.array([[u, v]], np.float32)
        floor, rim = self._apply(self._floor_h, uv)[0], self._apply(self._rim_h, uv)[0]
        x, y = floor + (rim - floor) * h
        return float(x), float(y)

    def px_per_cm(self, u: float, v: float, h: float = 0.0) -> float:
        """Pixel scale at basket point (u, v, h): the floor's scale grown toward the camera."""
        uv = np.array([[0.0, v], [1.0, v]], np.float32)
        left, right = self._apply(self._floor_h, uv)
        floor_scale = float(np.linalg.norm(right - left)) / (
            BASKET_WIDTH_CM * (1 - self.floor_shrink)
        )
        return floor_scale * (1 + (RIM_HEIGHT_FACTOR - 1) * h)

    def contains(self, x_px: float, y_px: float) -> bool:
        return cv2.pointPolygonTest(self.polygon_px.reshape(-1, 1, 2), (x_px, y_px), False) >= 0


# --- backgrounds -------------------------------------------------------------------------------


def _low_freq_noise(rng: np.random.Generator, size_px: tuple[int, int], cells: int) -> np.ndarray:
    w, h = size_px
    small = rng.standard_normal((cells, max(2, cells * h // w))).astype(np.float32)
    return cv2.resize(small.T, (w, h), interpolation=cv2.INTER_CUBIC)


def store_floor(
    rng: np.random.Generator, size_px: tuple[int, int], *, wild: bool = False
) -> np.ndarray:
    """Tiled store floor (BGR). ``wild`` draws any colour, tile size and pattern (training)."""
    w, h = size_px
    if wild:
        base = rng.uniform(30, 230, 3)
    else:  # the pale greys and beiges of supermarket vinyl and terrazzo
        base = np.array([rng.uniform(150, 200)] * 3) + rng.uniform(-12, 12, 3)
    img = np.empty((h, w, 3), np.float32)
    img[:] = base
    img += _low_freq_noise(rng, size_px, 6)[..., None] * rng.uniform(4, 20 if wild else 10)
    # Terrazzo grain, softened: the camera does not resolve single pixels of it.
    grain = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), 1.0)
    img += grain[..., None] * rng.uniform(4, 14)
    tile = int(rng.uniform(40, 160 if wild else 110))
    seam = tuple(float(c) for c in base * rng.uniform(0.55, 0.85))
    shear = rng.uniform(-0.3, 0.3)  # the handle camera sees the floor's grid at an angle
    for x in range(-w, 2 * w, tile):
        cv2.line(img, (x, 0), (int(x + shear * h), h), seam, 1, cv2.LINE_AA)
    for y in range(int(rng.uniform(0, tile)), h, int(tile * 0.8)):
        cv2.line(img, (0, y), (w, y), seam, 1, cv2.LINE_AA)
    if wild:  # clutter: shapes that are neither products nor hands
        for _ in range(int(rng.integers(0, 12))):
            colour = tuple(float(c) for c in rng.uniform(0, 255, 3))
            centre = (int(rng.uniform(0, w)), int(rng.uniform(0, h)))
            axes = (int(rng.uniform(5, w / 6)), int(rng.uniform(3, h / 8)))
            if rng.random() < 0.5:
                cv2.ellipse(img, centre, axes, rng.uniform(0, 180), 0, 360, colour, -1, cv2.LINE_AA)
            else:
                pts = rng.uniform(-1, 1, (int(rng.integers(3, 7)), 2)) * axes + centre
                cv2.fillPoly(img, [pts.astype(np.int32)], colour, cv2.LINE_AA)
    return np.clip(img, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class BasketStyle:
    wire_bgr: tuple[float, float, float] = (150, 150, 155)  # chrome
    rim_bgr: tuple[float, float, float] = (175, 175, 180)
    inside_shade: float = 0.55  # floor seen through the basket is in its shadow
    mesh_cells: int = 12
    wire_px: int = 2

    @staticmethod
    def random(rng: np.random.Generator, *, wild: bool = False) -> BasketStyle:
        if wild or rng.random() < 0.25:  # plastic baskets come in red, blue, green, black
            wire = bgr(rng.uniform(20, 230, 3))
        else:
            grey = rng.uniform(120, 185)
            wire = bgr((grey + rng.uniform(0, 8), grey, grey - rng.uniform(0, 6)))
        rim = bgr(tuple(min(255.0, c * 1.15 + 10) for c in wire))
        return BasketStyle(wire, rim, float(rng.uniform(0.4, 0.7)), int(rng.integers(9, 17)),
                           int(rng.integers(1, 4)))  # fmt: skip


def draw_basket(canvas: np.ndarray, view: BasketView, style: BasketStyle) -> None:
    """Mesh walls and floor, then the rim, onto a BGR canvas in place."""
    rim = view.polygon_px
    floor = view.floor_polygon_px()
    inside = np.zeros(canvas.shape[:2], np.uint8)
    cv2.fillPoly(inside, [rim.astype(np.int32)], 255, cv2.LINE_AA)
    shaded = (canvas.astype(np.float32) * style.inside_shade).astype(np.uint8)
    m = inside[..., None].astype(np.float32) / 255
    canvas[:] = (canvas * (1 - m) + shaded * m).astype(np.uint8)
    wire, n = style.wire_bgr, style.mesh_cells
    t = np.linspace(0, 1, n + 1)
    for s in t:  # floor grid, through the floor homography
        for a, b in (((s, 0), (s, 1)), ((0, s), (1, s))):
            p = view._apply(view._floor_h, np.array([a, b], np.float32)).astype(np.int32)
            cv2.line(canvas, tuple(p[0]), tuple(p[1]), wire, style.wire_px, cv2.LINE_AA)
    for i in range(4):  # walls: uprights from the rim down to the floor, plus two rails
        r0, r1, f0, f1 = rim[i], rim[(i + 1) % 4], floor[i], floor[(i + 1) % 4]
        for s in np.linspace(0, 1, n + 1):
            top, bottom = r0 + (r1 - r0) * s, f0 + (f1 - f0) * s
            cv2.line(canvas, tuple(top.astype(int)), tuple(bottom.astype(int)), wire,
                     max(1, style.wire_px - 1), cv2.LINE_AA)  # fmt: skip
        for s in (0.35, 0.7):
            a, b = r0 + (f0 - r0) * s, r1 + (f1 - r1) * s
            cv2.line(canvas, tuple(a.astype(int)), tuple(b.astype(int)), wire, style.wire_px,
                     cv2.LINE_AA)  # fmt: skip
    cv2.polylines(
        canvas, [rim.astype(np.int32)], True, style.rim_bgr, style.wire_px + 4, cv2.LINE_AA
    )
    highlight = tuple(min(255.0, c + 50) for c in style.rim_bgr)
    cv2.polylines(canvas, [rim.astype(np.int32)], True, highlight, 1, cv2.LINE_AA)


# --- sprites and compositing -------------------------------------------------------------------


def product_sprite(bgra: np.ndarray, length_px: float, angle_deg: float) -> np.ndarray:
    """A cut-out scaled so its longest side is ``length_px`` and rotated (BGRA, transparent)."""
    h, w = bgra.shape[:2]
    k = max(length_px, 4.0) / max(h, w)
    interp = cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR
    small = cv2.resize(bgra, (max(2, round(w * k)), max(2, round(h * k))), interpolation=interp)
    sh, sw = small.shape[:2]
    rot = cv2.getRotationMatrix2D((sw / 2, sh / 2), angle_deg, 1.0)
    cos, sin = abs(rot[0, 0]), abs(rot[0, 1])
    nw, nh = int(sh * sin + sw * cos) + 2, int(sh * cos + sw * sin) + 2
    rot[:, 2] += (nw - sw) / 2, (nh - sh) / 2
    return cv2.warpAffine(small, rot, (nw, nh), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0))  # fmt: skip


Spans = tuple[tuple[slice, slice], tuple[slice, slice]]


def _clip(shape: tuple[int, ...], x0: int, y0: int, w: int, h: int) -> Spans | None:
    """Canvas and sprite slices of a w x h sprite placed at (x0, y0), or None if off-canvas."""
    ch, cw = shape[:2]
    cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(cw, x0 + w), min(ch, y0 + h)
    if cx0 >= cx1 or cy0 >= cy1:
        return None
    return (slice(cy0, cy1), slice(cx0, cx1)), (
        slice(cy0 - y0, cy1 - y0),
        slice(cx0 - x0, cx1 - x0),
    )


def paste(
    canvas: np.ndarray,
    sprite: np.ndarray,
    centre_px: tuple[float, float],
    *,
    labels: np.ndarray | None = None,
    label_id: int = 0,
    shadow: float = 0.0,
) -> int:
    """Alpha-composite a BGRA sprite centred at ``centre_px`` onto a BGR canvas in place.

    ``shadow`` (0..1) first darkens a blurred, offset copy of the alpha underneath. Returns the
    sprite's full opaque area in px (before clipping), the denominator of visibility.
    """
    h, w = sprite.shape[:2]
    x0, y0 = round(centre_px[0] - w / 2), round(centre_px[1] - h / 2)
    alpha = sprite[..., 3]
    if shadow > 0:
        blur = max(3, (min(h, w) // 8) | 1)
        soft = cv2.GaussianBlur(alpha, (blur, blur), 0)
        off = max(2, min(h, w) // 14)
        spans = _clip(canvas.shape, x0 + off, y0 + off, w, h)
        if spans is not None:
            (cy, cx), (sy, sx) = spans
            s = soft[sy, sx, None].astype(np.float32) * (shadow / 255)
            canvas[cy, cx] = (canvas[cy, cx] * (1 - s)).astype(np.uint8)
    spans = _clip(canvas.shape, x0, y0, w, h)
    if spans is not None:
        (cy, cx), (sy, sx) = spans
        a = alpha[sy, sx, None].astype(np.float32) / 255
        roi = canvas[cy, cx].astype(np.float32)
        if canvas.shape[2] == 3:
            canvas[cy, cx] = (roi * (1 - a) + sprite[sy, sx, :3] * a).astype(np.uint8)
        else:  # "over" onto a transparent layer
            under = roi[..., 3:4] / 255 * (1 - a)
            out_a = a + under
            rgb = (sprite[sy, sx, :3] * a + roi[..., :3] * under) / np.maximum(out_a, 1e-6)
            canvas[cy, cx] = np.dstack([rgb, out_a * 255]).astype(np.uint8)
        if labels is not None:
            lab = labels[cy, cx]
            lab[alpha[sy, sx] > 127] = label_id
    return int(np.count_nonzero(alpha > 127))


# --- hands -------------------------------------------------------------------------------------

SKIN_TONES_BGR = (
    (150, 180, 225), (120, 160, 210), (100, 140, 195), (80, 115, 170), (60, 90, 140),
    (45, 65, 105), (135, 165, 205),
)  # fmt: skip


@dataclass(frozen=True)
class HandPose:
    """A hand seen from above: wrist position, the direction the fingers point, and its scale."""

    wrist_px: tuple[float, float]
    angle_rad: float  # direction from the wrist toward the fingertips, image coordinates
    px_per_cm: float
    grip: float  # 0 fingers stretched (empty, reaching) .. 1 curled round an item
    skin_bgr: tuple[float, float, float]
    sleeve_bgr: tuple[float, float, float]
    sleeve_cm: float = 9.0  # bare forearm between wrist and sleeve
    spread: float = 1.0  # finger spread multiplier


HAND_SCALE = 0.9  # an average adult hand against the 52 cm basket


def hand_reach_px(px_per_cm: float, item_length_px: float = 0.0) -> float:
    """Wrist to the hand's target point, in px: the middle of the palm for an empty hand; for a
    held item, its centre, beyond the palm so the fingers curl over its near side only and the
    item stays mostly in view, as a camera above a shopper's hand sees it."""
    palm = 7.0 * HAND_SCALE * px_per_cm
    return palm + (0.35 * item_length_px + 1.5 * px_per_cm if item_length_px else 0.0)


@dataclass(frozen=True)
class HandShapes:
    """The drawn parts of a hand pose, in image px."""

    forearm: np.ndarray  # int32 quad: bare skin from the wrist to the cuff
    arm: np.ndarray  # int32 quad: the sleeve, running off the image
    palm_centre: tuple[int, int]
    palm_axes: tuple[int, int]
    palm_angle_deg: float
    digits: tuple[tuple[tuple[int, int], tuple[int, int]], ...]  # four fingers and the thumb
    digit_px: int


def hand_shapes(pose: HandPose) -> HandShapes:
    s = pose.px_per_cm * HAND_SCALE
    d = np.array([math.cos(pose.angle_rad), math.sin(pose.angle_rad)])
    n = np.array([-d[1], d[0]])
    wrist = np.array(pose.wrist_px)

    def quad(a: np.ndarray, b: np.ndarray, wa: float, wb: float) -> np.ndarray:
        return np.array([a + n * wa, b + n * wb, b - n * wb, a - n * wa]).astype(np.int32)

    cuff = wrist - d * pose.sleeve_cm * s
    far = wrist - d * 150 * s  # the arm runs well off the image
    palm_c = wrist + d * 4.5 * s
    finger_len = (7.5 - 4.0 * pose.grip) * s
    digits = []
    for i, off in enumerate((-2.7, -0.9, 0.9, 2.6)):
        base = palm_c + d * 3.3 * s + n * off * s * 0.9
        splay = (off / 2.7) * 0.18 * pose.spread
        fd = d * math.cos(splay) + n * math.sin(splay)
        tip = base + fd * finger_len * (0.8 if i in (0, 3) else 1.0)
        digits.append((base, tip))
    thumb_base = palm_c + n * 3.4 * s - d * 0.5 * s
    digits.append((thumb_base, thumb_base + (d * 0.6 + n * 0.8) * (5.0 - 1.5 * pose.grip) * s))

    def pt(p: np.ndarray) -> tuple[int, int]:
        return int(p[0]), int(p[1])

    return HandShapes(
        forearm=quad(wrist, cuff, 3.0 * s, 3.6 * s),
        arm=quad(cuff, far, 4.8 * s, 7.0 * s),
        palm_centre=pt(palm_c),
        palm_axes=(int(4.8 * s), int(4.2 * s)),
        palm_angle_deg=math.degrees(pose.angle_rad),
        digits=tuple((pt(a), pt(b)) for a, b in digits),
        digit_px=max(2, int(1.8 * s)),
    )


def draw_hand_labels(labels: np.ndarray, shapes: HandShapes, hand_id: int, arm_id: int) -> None:
    """Object ids of a hand: the hand (palm, fingers, thumb) and the arm apart."""
    cv2.fillPoly(labels, [shapes.forearm, shapes.arm], arm_id)
    cv2.ellipse(labels, shapes.palm_centre, shapes.palm_axes, shapes.palm_angle_deg, 0, 360,
                hand_id, -1)  # fmt: skip
    for a, b in shapes.digits:
        cv2.line(labels, a, b, hand_id, shapes.digit_px)


def _skin_mask(shapes: HandShapes, origin: tuple[int, int], size: tuple[int, int]) -> np.ndarray:
    """Anti-aliased mask (uint8) of the bare skin: forearm, palm, fingers, thumb."""
    ox, oy = origin
    mask = np.zeros((size[1], size[0]), np.uint8)
    shift = np.array([ox, oy])
    cv2.fillPoly(mask, [shapes.forearm - shift], 255, cv2.LINE_AA)
    centre = (shapes.palm_centre[0] - ox, shapes.palm_centre[1] - oy)
    cv2.ellipse(mask, centre, shapes.palm_axes, shapes.palm_angle_deg, 0, 360, 255, -1, cv2.LINE_AA)
    for a, b in shapes.digits:
        cv2.line(mask, (a[0] - ox, a[1] - oy), (b[0] - ox, b[1] - oy), 255, shapes.digit_px,
                 cv2.LINE_AA)  # fmt: skip
    return mask


def draw_hand(
    canvas: np.ndarray,
    pose: HandPose,
    *,
    labels: np.ndarray | None = None,
    hand_id: int = 0,
    arm_id: int = 0,
) -> HandShapes:
    """Sleeve (running off the image), then the skin: forearm, palm, fingers and thumb, in place.

    The skin is shaded by its distance from its own edge, so palm and fingers read as rounded
    rather than as flat cut paper, and each digit gets a thin darker outline where it lies over
    its neighbour. Works on BGR or BGRA canvases (a BGRA canvas gets alpha where the hand is).
    The hand (palm, fingers, thumb) and the arm get separate label ids: only the hand is a
    training box.
    """
    shapes = hand_shapes(pose)
    four = canvas.shape[2] == 4
    cv2.fillPoly(canvas, [shapes.arm], (*pose.sleeve_bgr, *((255.0,) if four else ())), cv2.LINE_AA)
    if labels is not None:
        draw_hand_labels(labels, shapes, hand_id, arm_id)
    pts = np.vstack([shapes.forearm, np.array(shapes.digits).reshape(-1, 2),
                     np.array([shapes.palm_centre])])  # fmt: skip
    pad = max(shapes.palm_axes) + shapes.digit_px
    H, W = canvas.shape[:2]
    x0, y0 = max(0, int(pts[:, 0].min()) - pad), max(0, int(pts[:, 1].min()) - pad)
    x1, y1 = min(W, int(pts[:, 0].max()) + pad), min(H, int(pts[:, 1].max()) + pad)
    if x0 >= x1 or y0 >= y1:
        return shapes
    mask = _skin_mask(shapes, (x0, y0), (x1 - x0, y1 - y0))
    inside = (mask > 127).astype(np.uint8)
    dist = cv2.distanceTransform(inside, cv2.DIST_L2, 3)
    # Shade 0.68 at the edge to 1.08 a finger's width in, as uint8 (x / 255) for cv2.multiply.
    shade = cv2.convertScaleAbs(dist, alpha=0.4 * 255 / max(1.0, 1.1 * shapes.digit_px),
                                beta=0.68 * 255)  # fmt: skip
    shade = np.minimum(shade, 255 * 1.08 / 1.1).astype(np.uint8)
    skin = np.array([*(min(255.0, c * 1.1) for c in pose.skin_bgr), 0.0])
    colour = cv2.multiply(cv2.cvtColor(shade, cv2.COLOR_GRAY2BGR), skin, scale=1 / 255)
    # The digits' own outlines separate them from their neighbours (not drawn over the palm).
    lines = np.zeros_like(inside)
    for a, b in shapes.digits:
        mid = ((a[0] + b[0]) / 2 - x0, (a[1] + b[1]) / 2 - y0)
        length = math.hypot(b[0] - a[0], b[1] - a[1]) + shapes.digit_px
        angle = math.degrees(math.atan2(b[1] - a[1], b[0] - a[0]))
        box = cv2.boxPoints((mid, (length, shapes.digit_px), angle)).astype(np.int32)
        cv2.polylines(lines, [box], True, 1, 1)
    centre = (shapes.palm_centre[0] - x0, shapes.palm_centre[1] - y0)
    cv2.ellipse(lines, centre, shapes.palm_axes, shapes.palm_angle_deg, 0, 360, 0, -1)
    colour[(lines > 0) & (inside > 0)] = tuple(int(c * 0.72) for c in pose.skin_bgr)
    a3 = cv2.cvtColor(mask, cv2.COLOR_GRAY2BGR)
    roi = canvas[y0:y1, x0:x1]
    under = np.ascontiguousarray(roi[..., :3])
    blended = cv2.add(cv2.multiply(under, cv2.bitwise_not(a3), scale=1 / 255),
                      cv2.multiply(colour, a3, scale=1 / 255))  # fmt: skip
    roi[..., :3] = blended
    if four:
        roi[..., 3] = np.maximum(roi[..., 3], mask)
    return shapes


def random_hand_colours(rng: np.random.Generator) -> tuple[BGR, BGR]:
    skin = np.array(SKIN_TONES_BGR[int(rng.integers(len(SKIN_TONES_BGR)))], float)
    skin = np.clip(skin * rng.uniform(0.9, 1.1) + rng.uniform(-8, 8, 3), 0, 255)
    sleeve = rng.uniform(10, 240, 3)
    return bgr(skin), bgr(sleeve)


# --- camera ------------------------------------------------------------------------------------


def motion_blur(patch: np.ndarray, velocity_px: tuple[float, float]) -> np.ndarray:
    """Blur a (premultiplied) patch along the motion it made during one exposure."""
    vx, vy = velocity_px
    length = int(round(math.hypot(vx, vy)))
    if length < 2:
        return patch
    k = np.zeros((length | 1, length | 1), np.float32)
    c = length // 2
    cv2.line(k, (int(c - vx / 2), int(c - vy / 2)), (int(c + vx / 2), int(c + vy / 2)), 1.0, 1)
    k /= k.sum()
    return cv2.filter2D(patch, -1, k, borderType=cv2.BORDER_CONSTANT)


def composite_layer(
    frame: np.ndarray, layer: np.ndarray, velocity_px: tuple[float, float] = (0.0, 0.0)
) -> None:
    """Composite a full-frame BGRA layer onto a BGR frame in place, motion-blurred along
    ``velocity_px`` (the motion during one exposure). Only the layer's opaque box is touched.

    All in uint8 OpenCV arithmetic (premultiply, blur, "over"): a frame's hand and item cost
    about a millisecond this way, several times less than in float numpy.
    """
    x, y, w, h = cv2.boundingRect(layer[..., 3])
    if w == 0 or h == 0:
        return
    pad = int(math.hypot(*velocity_px)) // 2 + 1
    H, W = frame.shape[:2]
    x0, y0, x1, y1 = max(0, x - pad), max(0, y - pad), min(W, x + w + pad), min(H, y + h + pad)
    roi = layer[y0:y1, x0:x1]
    alpha = cv2.cvtColor(roi[..., 3], cv2.COLOR_GRAY2BGR)
    prem = cv2.multiply(roi[..., :3], alpha, scale=1 / 255)
    prem = motion_blur(prem, velocity_px)
    alpha = motion_blur(alpha, velocity_px)
    under = frame[y0:y1, x0:x1]
    kept = cv2.multiply(under, cv2.bitwise_not(alpha), scale=1 / 255)
    frame[y0:y1, x0:x1] = cv2.add(kept, prem)


def apply_light(frame: np.ndarray, gain_bgr: tuple[float, float, float]) -> np.ndarray:
    """Exposure and white balance: per-channel gain with saturation."""
    return cv2.multiply(frame, np.array([*gain_bgr, 0.0]), dtype=cv2.CV_8U)


def vignette(size_px: tuple[int, int], strength: float) -> np.ndarray:
    """Per-pixel gain (HxWx1 float32) that darkens the corners like a cheap wide lens."""
    w, h = size_px
    y, x = np.ogrid[-1 : 1 : complex(0, h), -1 : 1 : complex(0, w)]
    gain: np.ndarray = (1 - strength * (x * x + y * y) / 2).astype(np.float32)
    return gain[..., None]
