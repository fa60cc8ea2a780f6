"""People named in credits: "Ji Mengzhu Fan Jun Sheng" is two people, Ji Mengzhu and Fan Junsheng.

Wire copy romanises Chinese names syllable by syllable and often drops the separators between people. A Chinese
name is a surname (almost always one syllable, a few compound ones) followed by a given name of one or two
syllables, so a list of surnames finds most boundaries; where several splits fit, names the people registry knows
win, then splits that do not use a very common surname as part of a given name.
"""

from __future__ import annotations

import re

from .common import model

# Romanised (pinyin) surnames: the common single-syllable ones and the compound ones still in use.
SURNAMES = frozenset(
    """
    ai an ao ba bai ban bao bei bi bian bo bu cai cao cen chai chang chao che chen cheng chi chu cong cui dai dan
    dang deng di diao ding dong dou du duan fan fang fei feng fu gan gao ge geng gong gou gu guan gui guo han hang
    hao he hong hou hu hua huang huo ji jia jian jiang jiao jin jing ju kang ke kong kou kuang lai lan lang lao le lei
    leng li lian liang liao lin ling liu long lou lu luan luo lv lyu ma mai man mao mei meng mi miao min ming mo mu na
    ni nie ning niu ou pan pang pei peng pi ping pu qi qian qiao qin qiu qu quan ran rao ren rong ruan rui sang sha
    shan shang shao she shen sheng shi shu si song su sui sun tai tan tang tao teng tian tong tu wan wang wei wen weng
    wu xi xia xian xiang xiao xie xin xing xiong xu xuan xue yan yang yao ye yi yin ying yong you yu yuan yue yun zang
    zeng zha zhai zhan zhang zhao zhen zheng zhong zhou zhu zhuang zhuo zong zou zu zuo
    ouyang situ sima zhuge shangguan dongfang huangfu murong xiahou zhangsun yuchi gongsun
    """.split()
)
# The commonest surnames: rarely the syllable of a given name when a split is ambiguous.
COMMON_SURNAMES = frozenset(
    "wang li zhang liu chen yang huang zhao wu zhou xu sun ma zhu hu guo he gao lin luo zheng liang xie song tang "
    "han feng deng cao peng zeng xiao tian dong pan yuan cai jiang yu du ye cheng wei su lu ding ren shen yao".split()
)
CREDIT_SEPARATORS = re.compile(r"\s*(?:[,，、;；/&＆]|\band\b|\s和\s)\s*", re.I)
CJK_NAME_SPACES = re.compile(r"[\s\u3000]+")
TRAILING_WORDS = re.compile(r"\s*(?:报道|摄影?|采写|/?摄|reporting|reports?)\s*$", re.I)
VOWELS = re.compile(r"[aeiouvü]+")


def syllables(token: str) -> int:
    """Pinyin syllables in a romanised token: Mengzhu 2, Xiao 1, Xi'an 2 (one vowel group each)."""
    return max(1, len(VOWELS.findall(token.lower())))


def join_name(tokens: list[str]) -> str:
    """Surname, space, given name written as one word: ["Fan", "Jun", "Sheng"] gives Fan Junsheng."""
    surname, given = tokens[0], "".join(tokens[1:])
    return f"{surname[:1].upper()}{surname[1:].lower()} {given[:1].upper()}{given[1:].lower()}".strip()


def split_romanised(text: str, people: model.Registry | None = None) -> list[str] | None:
    """The people in a run of romanised syllables, or None when no split into Chinese names fits."""
    tokens = text.split()
    if not tokens:
        return []
    count = len(tokens)
    # best[i]: the best (score, names) for tokens[:i]
    best: list[tuple[int, list[str]] | None] = [None] * (count + 1)
    best[0] = (0, [])
    for start in range(count):
        if best[start] is None:
            continue
        score_so_far, names = best[start]
        for end in range(start + 1, min(count, start + 4) + 1):
            piece = tokens[start:end]
            entry = people.resolve(" ".join(piece)) if people is not None else None
            if entry is not None:
                score, name = 20, entry.title
            elif end - start >= 2 and piece[0].lower() in SURNAMES and sum(syllables(t) for t in piece[1:]) <= 2:
                score = 10 - (0 if piece[0].lower() in COMMON_SURNAMES else 1)
                score -= 2 * sum(t.lower() in COMMON_SURNAMES for t in piece[1:])
                name = join_name(piece)
            else:
                continue
            candidate = (score_so_far + score, [*names, name])
            if best[end] is None or candidate[0] > best[end][0]:
                best[end] = candidate
    return best[count][1] if best[count] else None


def split_credit(text: str, people: model.Registry | None = None, lang: str = "en") -> list[str]:
    """The people named in a credit ("Ji Mengzhu Fan Jun Sheng", "A and B", "张三、李四"), canonical where the
    registry knows them (in the article's language), in order, each once."""
    text = TRAILING_WORDS.sub("", text.strip().strip("：:（）()【】[]"))
    names: list[str] = []
    for piece in CREDIT_SEPARATORS.split(text):
        piece = piece.strip(" .。")
        if not piece:
            continue
        if model.has_cjk(piece):
            names.extend(part for part in CJK_NAME_SPACES.split(piece) if part)
        elif people is not None and people.resolve(piece):
            names.append(people.resolve(piece).title)
        else:
            names.extend(split_romanised(piece, people) or [" ".join(piece.split())])
    canonical: list[str] = []
    for name in names:
        entry = people.resolve(name) if people is not None else None
        shown = entry.name_in(lang) if entry is not None else name
        if shown not in canonical:
            canonical.append(shown)
    return canonical
