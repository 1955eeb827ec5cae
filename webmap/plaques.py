"""QR plaques for stations (issue 13 item 4): print-ready PNG (one station) or PDF (a sheet).

A plaque carries the station's name, its stable code, a QR code linking to its page at the
public base URL (``NUANXIN_PUBLIC_URL`` + ``/stations/<id>?src=qr``; ``src=qr`` lets the page
count visits from plaques anonymously), the opening hours in words, a 24-hour badge where it
applies, and the invitation to report a problem.

One layout (:func:`layout`, in millimetres on an A6 plaque, 105 × 148 mm) drawn by two sinks:
reportlab for PDF (four plaques per A4 page, cut marks between them) and Pillow for PNG
(300 dpi). The QR code comes from segno; the Chinese text is set in a CJK TrueType font
Debian ships (WenQuanYi Micro Hei, ``fonts-wqy-microhei``), embedded in the PDF.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from stations import settings
from stations.errors import NuanxinError, ValidationError
from stations.hours import hours_of
from stations.records import Station

__all__ = ["PLAQUE_MM", "Plaque", "plaque_of", "station_url", "qr_matrix", "layout",
           "render_png", "render_pdf", "write_plaques", "font_path", "FONT_CANDIDATES",
           "plaque_stations"]

#: Width and height of one plaque (A6, portrait), millimetres.
PLAQUE_MM = (105.0, 148.0)
#: CJK TrueType fonts Debian ships, first found wins (reportlab embeds TrueType outlines only).
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)
INVITATION = "扫码查看开放时间、一键导航；锁门、要登记、没热水……请扫码一键反馈，帮下一位师傅"
_RED = (196, 30, 58)
_DARK = (34, 34, 34)
_GREY = (110, 110, 110)
_WHITE = (255, 255, 255)
_PNG_DPI = 300


class PlaqueError(NuanxinError):
    """A plaque cannot be made (no CJK font installed)."""


@dataclass(frozen=True)
class Plaque:
    """What one plaque says."""

    station_id: int
    name: str
    code: str
    url: str
    hours_zh: str
    always_open: bool
    sample: bool = False


def station_url(station_id: int, base_url: str | None = None) -> str:
    """The page a plaque's QR code opens: ``<NUANXIN_PUBLIC_URL>/stations/<id>?src=qr``."""
    base = (base_url if base_url is not None else settings.get("PUBLIC_URL")) or ""
    base = str(base).strip().rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise ValidationError(f"NUANXIN_PUBLIC_URL 必须以 http:// 或 https:// 开头 (the public "
                              f"base URL must be an http(s) URL), got {base!r}",
                              detail={"param": "NUANXIN_PUBLIC_URL"})
    return f"{base}/stations/{int(station_id)}?src=qr"


def plaque_of(station: Station, *, base_url: str | None = None) -> Plaque:
    """The plaque of one station."""
    hours = hours_of(station)
    return Plaque(station_id=int(station.id), name=station.name, code=station.code or "",
                  url=station_url(station.id, base_url),
                  hours_zh="开放时间未知，请扫码查看" if hours.unknown else hours.describe_zh(),
                  always_open=bool(hours.always_open), sample=bool(station.sample))


def qr_matrix(url: str) -> list[list[bool]]:
    """The QR code of ``url`` (error correction M or better) as rows of dark modules, with
    the 4-module quiet zone."""
    import segno

    code = segno.make(url, error="m", micro=False)
    return [[bool(v) for v in row] for row in code.matrix_iter(scale=1, border=4)]


@functools.cache
def font_path() -> str:
    """The CJK font file plaques are set in; :class:`PlaqueError` when none is installed."""
    for candidate in FONT_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    raise PlaqueError("找不到中文字体 (no CJK TrueType font): install Debian's "
                      "fonts-wqy-microhei")


@functools.cache
def _measure_font():
    from PIL import ImageFont

    return ImageFont.truetype(font_path(), 1000, index=0)


def _width_mm(text: str, size_mm: float) -> float:
    return _measure_font().getlength(text) / 1000.0 * size_mm


def _wrap(text: str, size_mm: float, width_mm: float, *, lines: int) -> list[str]:
    """``text`` broken into at most ``lines`` lines of ``width_mm`` (CJK breaks anywhere);
    the last line ends in … when cut."""
    out: list[str] = []
    current = ""
    for ch in text:
        if _width_mm(current + ch, size_mm) > width_mm and current:
            out.append(current)
            current = ch.lstrip()
        else:
            current += ch
    if current:
        out.append(current)
    if len(out) > lines:
        out = out[:lines]
        last = out[-1]
        while last and _width_mm(last + "…", size_mm) > width_mm:
            last = last[:-1]
        out[-1] = last + "…"
    return out


def layout(plaque: Plaque) -> list[tuple]:
    """The plaque as drawing steps in millimetres from its top-left corner.

    ``("rect", x, y, w, h, rgb)``; ``("text", x, baseline_y, size_mm, text, rgb, align)``
    with ``align`` left / centre / right; ``("qr", x, y, size, matrix)``.
    """
    w, h = PLAQUE_MM
    margin = 8.0
    steps: list[tuple] = [
        ("rect", 0, 0, w, h, _WHITE),
        ("rect", 0, 0, w, 20, _RED),
        ("text", w / 2, 13.2, 8.0, "职工暖心驿站", _WHITE, "centre"),
    ]
    y = 30.0
    for line in _wrap(plaque.name, 6.2, w - 2 * margin, lines=2):
        steps.append(("text", w / 2, y, 6.2, line, _DARK, "centre"))
        y += 7.6
    steps.append(("text", w / 2, y, 3.6, f"站点编码 {plaque.code}", _GREY, "centre"))
    y += 3.0
    qr_size = 58.0
    steps.append(("qr", (w - qr_size) / 2, y, qr_size, qr_matrix(plaque.url)))
    y += qr_size + 5.0
    if plaque.always_open:
        steps.append(("rect", w / 2 - 14, y - 4.6, 28, 7, _RED))
        steps.append(("text", w / 2, y, 4.6, "24 小时开放", _WHITE, "centre"))
        y += 7.0
    for line in _wrap("开放时间：" + plaque.hours_zh, 4.0, w - 2 * margin, lines=2):
        steps.append(("text", w / 2, y, 4.0, line, _DARK, "centre"))
        y += 5.2
    y += 1.5
    for line in _wrap(INVITATION, 3.6, w - 2 * margin, lines=3):
        steps.append(("text", w / 2, y, 3.6, line, _RED, "centre"))
        y += 4.8
    steps.append(("text", w / 2, h - 5.0, 2.6, plaque.url, _GREY, "centre"))
    if plaque.sample:  # the demo's stations are not real: say so on the plaque
        steps.append(("text", w - 3.0, 18.0, 2.6, "示例数据", _WHITE, "right"))
    return steps


# -- PNG (Pillow) ------------------------------------------------------------------------------
def render_png(plaque: Plaque, path: str | Path, *, dpi: int = _PNG_DPI) -> Path:
    """One plaque as a PNG at ``dpi``."""
    from PIL import Image, ImageDraw, ImageFont

    px = dpi / 25.4
    w, h = PLAQUE_MM
    image = Image.new("RGB", (round(w * px), round(h * px)), _WHITE)
    draw = ImageDraw.Draw(image)
    fonts: dict[int, ImageFont.FreeTypeFont] = {}
    for step in layout(plaque):
        kind = step[0]
        if kind == "rect":
            _, x, y, rw, rh, rgb = step
            draw.rectangle([x * px, y * px, (x + rw) * px - 1, (y + rh) * px - 1], fill=rgb)
        elif kind == "text":
            _, x, y, size, text, rgb, align = step
            size_px = max(1, round(size * px))
            font = fonts.setdefault(size_px, ImageFont.truetype(font_path(), size_px, index=0))
            draw.text((x * px, y * px), text, fill=rgb, font=font,
                      anchor={"centre": "ms", "right": "rs"}.get(align, "ls"))
        else:
            _, x, y, size, matrix = step
            module = max(1, int(size * px) // len(matrix))  # whole pixels: crisp modules
            left = round(x * px + (size * px - module * len(matrix)) / 2)
            top = round(y * px + (size * px - module * len(matrix)) / 2)
            for r, row in enumerate(matrix):
                for c, dark in enumerate(row):
                    if dark:
                        draw.rectangle([left + c * module, top + r * module,
                                        left + (c + 1) * module - 1,
                                        top + (r + 1) * module - 1], fill=(0, 0, 0))
    path = Path(path)
    image.save(path, format="PNG", dpi=(dpi, dpi))
    return path


# -- PDF (reportlab) ---------------------------------------------------------------------------
_PDF_FONT = "NuanxinCJK"


@functools.cache
def _pdf_font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    pdfmetrics.registerFont(TTFont(_PDF_FONT, font_path(), subfontIndex=0))
    return _PDF_FONT


def _draw_pdf_plaque(canvas, plaque: Plaque, ox: float, oy: float) -> None:
    """Draw one plaque with its top-left corner at (ox, oy) mm from the page's top-left."""
    from reportlab.lib.units import mm

    page_h = canvas._pagesize[1]

    def at(x: float, y: float) -> tuple[float, float]:
        return (ox + x) * mm, page_h - (oy + y) * mm

    for step in layout(plaque):
        kind = step[0]
        if kind == "rect":
            _, x, y, rw, rh, rgb = step
            canvas.setFillColorRGB(*(c / 255 for c in rgb))
            left, top = at(x, y)
            canvas.rect(left, top - rh * mm, rw * mm, rh * mm, stroke=0, fill=1)
        elif kind == "text":
            _, x, y, size, text, rgb, align = step
            canvas.setFillColorRGB(*(c / 255 for c in rgb))
            canvas.setFont(_pdf_font(), size * mm)
            px, py = at(x, y)
            draw = {"centre": canvas.drawCentredString,
                    "right": canvas.drawRightString}.get(align, canvas.drawString)
            draw(px, py, text)
        else:
            _, x, y, size, matrix = step
            cell = size / len(matrix)
            canvas.setFillColorRGB(0, 0, 0)
            for r, row in enumerate(matrix):
                c = 0
                while c < len(row):  # one rectangle per run of dark modules
                    if not row[c]:
                        c += 1
                        continue
                    start = c
                    while c < len(row) and row[c]:
                        c += 1
                    left, top = at(x + start * cell, y + (r + 1) * cell)
                    canvas.rect(left, top, (c - start) * cell * mm, cell * mm, stroke=0, fill=1)


def render_pdf(plaques: Sequence[Plaque], path: str | Path) -> Path:
    """Plaques on A4 pages, four per page (2 × 2 A6, cut lines between them)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas as pdf_canvas

    path = Path(path)
    canvas = pdf_canvas.Canvas(str(path), pagesize=A4)
    canvas.setTitle("暖心驿站标识牌 (Nuanxin plaques)")
    canvas.setAuthor("Nuanxin")
    page_w, page_h = A4[0] / mm, A4[1] / mm
    w, h = PLAQUE_MM
    ox, oy = (page_w - 2 * w) / 2, (page_h - 2 * h) / 2
    for start in range(0, len(plaques), 4):
        for i, plaque in enumerate(plaques[start:start + 4]):
            _draw_pdf_plaque(canvas, plaque, ox + (i % 2) * w, oy + (i // 2) * h)
        canvas.setStrokeColorRGB(0.6, 0.6, 0.6)
        canvas.setLineWidth(0.3)
        canvas.setDash(2, 2)
        canvas.line((ox + w) * mm, 0, (ox + w) * mm, page_h * mm)
        canvas.line(0, (page_h - oy - h) * mm, page_w * mm, (page_h - oy - h) * mm)
        canvas.showPage()
    canvas.save()
    return path


def write_plaques(stations: Iterable[Station], path: str | Path, *,
                  base_url: str | None = None) -> int:
    """Write the plaques of ``stations`` to ``path``: ``.png`` for exactly one station,
    ``.pdf`` for any number (a sheet). Returns how many plaques were drawn."""
    path = Path(path)
    plaques = [plaque_of(s, base_url=base_url) for s in stations]
    suffix = path.suffix.lower()
    if suffix not in (".png", ".pdf"):
        raise ValidationError(f"标识牌文件须为 .png 或 .pdf (plaques are written as .png or "
                              f".pdf), got {path.name!r}", detail={"param": "out"})
    if not plaques:
        raise ValidationError("没有可制作标识牌的开放站点 (no open station to make a plaque "
                              "for)", detail={"param": "station"})
    if suffix == ".png":
        if len(plaques) != 1:
            raise ValidationError(f"PNG 只能放一个站点的标识牌，这里有 {len(plaques)} 个，请用 "
                                  ".pdf (a PNG holds one plaque; use .pdf for a sheet)",
                                  detail={"param": "out", "plaques": len(plaques)})
        render_png(plaques[0], path)
    else:
        render_pdf(plaques, path)
    return len(plaques)


def plaque_stations(store, *, station_id: int | None = None, street: str | None = None,
                    district: str | None = None) -> list[Station]:
    """The stations to make plaques for: one open station by id, or every open station of
    a street (any name form the gazetteer knows: 广安门外街道, 广外...), in code order."""
    from geodata.places.assign import area_of_names, area_of_record
    from stations.scope import Scope

    if (station_id is None) == (street is None):
        raise ValidationError("请给出 --station 或 --street 之一 (give --station ID or "
                              "--street NAME)", detail={"param": "station"})
    if station_id is not None:
        station = store.get_station(int(station_id))
        if station.status != "open":
            raise ValidationError(f"站点 {station_id} 不是开放状态（{station.status}），不制作"
                                  f"标识牌 (only open stations get a plaque)",
                                  detail={"param": "station", "status": station.status})
        return [station]
    try:
        area = area_of_names(district or "", street or "", strict=True)
        scope = Scope(role="street", area=area)
        wanted = [s for s in store.list_stations(status="open")
                  if scope.covers(area_of_record(s))]
    except ValidationError:  # a street the gazetteer does not know: its exact name
        wanted = [s for s in store.list_stations(status="open") if s.street == street]
        if not wanted:
            raise
    if not wanted:
        raise ValidationError(f"{street} 没有开放的站点 (no open station in street "
                              f"{street!r})", detail={"param": "street", "value": street})
    return sorted(wanted, key=lambda s: (s.code or "", s.id))
