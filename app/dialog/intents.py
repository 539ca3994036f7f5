"""What a customer's message is about, offline: the intents of the shared contract.

A small rule classifier, measured on the labelled phrasings in `data/intents/*.yaml` (kept apart
from the tests and from the evals' `test` split) and on the evals: the text is normalised
(`app.dialog.words`), and each intent has cues (word stems in Ukrainian, Russian and English,
surzhyk and common misspellings; stems of six letters and more forgive one typo). The order of
`classify` decides between several cues: a person asked for, a complaint, then the shop's own
questions (delivery, payment, returns, sizing, contacts, hours), then buying, price and stock,
what the shop sells, and greetings and thanks only when nothing else is asked.

Intents that need the catalog (`product`, `out_of_catalog`, `catalog` of a category) are
settled by the offline agent with the assortment and retrieval; this module says what the words
alone say.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from app.dialog.words import has_stem, words

Intent = Literal[
    "greeting",
    "thanks",
    "delivery",
    "payment",
    "returns",
    "sizing",
    "contacts",
    "hours",
    "catalog",
    "out_of_catalog",
    "product",
    "price",
    "stock",
    "order",
    "human",
    "complaint",
    "other",
]
ShopTopic = Literal["delivery", "payment", "returns", "sizing", "contacts", "hours"]
SHOP_TOPICS: tuple[ShopTopic, ...] = (
    "delivery",
    "payment",
    "returns",
    "sizing",
    "contacts",
    "hours",
)

# A cue is a stem ("доставк"), a whole word ("є$") or words in a row ("скільки кошт").
Cues = tuple[str, ...]

HUMAN: Cues = (
    "менеджер", "оператор", "консультант", "живий", "живою", "живого", "живим", "живой",
    "живым", "дайте людин", "покличте людин", "поговорити з людин", "з людиною", "с человеком",
    "позовит", "покличт", "позвать", "manager", "human", "person", "operator", "real person",
    "talk to someone", "адмін", "админ",
)  # fmt: skip
IDENTITY: Cues = (
    "ти бот", "ви бот", "вы бот", "ты бот", "бот чи", "бот или", "are you a bot", "are you bot",
    "are you human", "ти людина", "ви людина",
)  # fmt: skip
COMPLAINT: Cues = (
    "скарг", "жалоб", "брак", "бракован", "неякісн", "некачествен", "порван", "порвал", "дірк",
    "дырк", "обман", "шахра", "complain", "defect", "broken", "damaged", "не та річ", "не тот",
    "не прийшл", "не пришл", "не отрима", "не получил", "де моя посилк", "где моя посылк",
    "загуби", "потерял", "затримк", "задержк", "not arrived", "never arrived",
    "оплата не пройш", "не пройшла оплата", "списал", "гроші не повер", "деньги не верну",
    "refund", "повернуть гроші", "поверніть гроші", "верните деньги",
)  # fmt: skip
DELIVERY: Cues = (
    "доставк", "доставит", "доставл", "достав", "відправ", "отправ", "посилк", "посылк",
    "нова пошт", "новою пошт", "нової пошт", "новой почт", "новая почт", "нп$", "укрпошт",
    "укрпочт", "поштомат", "почтомат", "кур'єр", "курьер", "кур'ер", "курєр", "відділенн",
    "отделени", "ship", "deliver", "shipping", "courier", "parcel", "скільки йде", "сколько ид",
    "скільки днів йде", "коли прийде", "когда прид", "до львова", "по україні", "по украине",
    "за кордон", "в польщ", "в польшу", "to poland", "abroad",
)  # fmt: skip
PAYMENT: Cues = (
    "оплат", "оплач", "заплат", "накладен", "наложен", "післяплат", "наложк", "налож", "картк",
    "картой", "карто", "карту", "реквізит", "реквизит", "рахун", "iban", "ібан", "счет",
    "счёт", "передплат", "предоплат", "предопл", "pay", "payment", "card$", "cards$", "cash",
    "готівк", "наличн!", "при отриманні", "при получении", "apple pay", "google pay", "переказ",
)  # fmt: skip
RETURNS: Cues = (
    "поверну", "повернен", "поверта", "повернут", "вернут", "возврат", "вернуть", "верну",
    "обмін", "обмін", "обміня", "обмен", "обменя", "поміня", "поменя", "return", "exchange",
    "refund", "не підійшо", "не підійде", "не подойд", "не подош", "не підійш",
)  # fmt: skip
SIZING: Cues = (
    "розмірн сітк", "размерн сетк", "розмірна сітк", "сітка розмір", "сетка размер",
    "таблиц розмір", "таблиц размер", "таблиця розмір", "таблица размер", "маломір", "маломер",
    "великомір", "большемер", "size chart", "size guide", "what size",
    "which size", "зріст", "рост$", "вага$", "вагою", "вес$", "обхват", "обхв", "об'єм груд",
    "usually", "sizing", "fit$", "fits$", "сидить", "сидит",
    "сідає", "садится", "підібрати розмір", "подобрать размер", "підкажіть розмір",
    "подскажите размер", "порадьте розмір", "посоветуйте размер",
)  # fmt: skip
# "Which size should I take": a size word near a choosing verb.
SIZE_WORD: Cues = ("розмір", "размер", "size")
CHOOSING: Cues = (
    "взяти", "брати", "взять", "брать", "обрати", "вибрати", "выбрать", "обирати", "вибира",
    "выбира", "take", "choose", "pick", "підійде", "подойдет", "мені", "мне",
)  # fmt: skip
CONTACTS: Cues = (
    "контакт", "номер магазин", "зв'язат", "звязат", "связат",
    "зателефон", "подзвон", "позвон", "знаходит", "находит", "де ви", "где вы",
    "шоурум", "showroom", "instagram", "инстаграм", "інстаграм", "інста", "инста", "email",
    "e-mail", "пошта для", "електронн", "электрон", "сайт", "website", "where are you",
    "contact", "phone", "address", "приїхати", "приехать", "офлайн", "магазин у вас",
)  # fmt: skip
# Said about a delivery too ("доставка за адресою"): a contacts question only without one.
CONTACTS_WEAK: Cues = ("телефон", "адрес", "номер телефону")
HOURS: Cues = (
    "до котр", "до которого", "до скількох", "до скольки", "з котр", "с которого", "працюєт",
    "працює", "работаете", "работает", "графік!", "график!", "години роботи", "годин робот",
    "часы работы", "режим роботи", "режим работы", "вихідн", "выходн", "opening hours",
    "open$", "hours", "working", "відкрит", "открыт", "зачинен", "закрыт", "неділ", "воскрес",
    "субот",
)  # fmt: skip
ORDER: Cues = (
    "замов", "закаж", "заказ", "купи", "купл", "куплю", "купит", "оформ", "беру$", "беру",
    "візьму", "возьму", "order", "buy", "purchase", "i'll take", "хочу цей", "хочу этот",
)  # fmt: skip
PRICE: Cues = (
    "ціна", "ціну", "ціни", "цін$", "цена", "цену", "цены", "коштує", "коштуют", "кошту",
    "скільки кошт", "скільки буде", "скіко", "скока", "скільки грн", "вартіст", "стоит",
    "стоят", "стоимост", "почем", "почём", "по чому", "по ціні", "price", "cost", "how much",
    "грн$", "грив",
)  # fmt: skip
STOCK: Cues = (
    "наявн", "в наличии", "наличи", "налич", "є в$", "є$", "есть", "єсть", "залиш", "лишил",
    "остал", "available", "in stock", "have it in", "do you have", "які розміри", "какие размер",
    "які кольори", "какие цвета", "розміри є", "есть размер", "є розмір", "є колір",
)  # fmt: skip
CATALOG: Cues = (
    "каталог", "асортимент", "ассортимент", "що у вас є", "що є$", "що є у вас", "шо у вас є",
    "що ви продаєте", "що продаєте", "что у вас есть", "что есть", "что продаете",
    "что вы продаете", "що маєте", "что имеете", "what do you sell", "what do you have",
    "what have you got", "your products", "catalog", "catalogue", "покажіть що", "покажите что",
    "які у вас", "какие у вас", "що є з", "что есть из", "що є із", "що маєте з",
    "які є", "какие есть", "новинк", "новинки",
)  # fmt: skip
GREETING: Cues = (
    "привіт", "прівєт", "вітаю", "добрий день", "доброго", "добрий вечір", "добрий ранок",
    "добрий$", "добридень", "привет", "приветик", "здравств", "здраств", "здрасьте", "добрый",
    "доброе", "hello", "hi$", "hey$", "good morning", "good afternoon", "салют", "хай$",
)  # fmt: skip
THANKS: Cues = (
    "дякую", "дякуєм", "дяк", "спасиб", "спасібо", "спс$", "сенк", "thank", "thanks", "thx$",
    "до побачення", "до свидания", "бувай", "бувайте", "пока$", "гарного дня", "хорошего дня",
    "bye", "goodbye", "все зрозуміло", "все понятно", "зрозуміло", "понятно", "чудово",
)  # fmt: skip
# Words that say "hello, are you there?" and nothing else.
PING: Cues = ("ало$", "алло$", "алё$", "але$", "ау$", "хелоу$", "ви тут", "вы тут", "you there")


@dataclass(frozen=True)
class Reading:
    """What the words of a message say."""

    intent: Intent
    topics: tuple[ShopTopic, ...] = ()
    """Every shop question in the message, in the order of SHOP_TOPICS ("how much is delivery
    and can I pay on receipt?" asks two)."""
    greets: bool = False
    thanks: bool = False
    cues: dict[str, bool] = field(default_factory=dict, compare=False)
    """Which other cue families matched (price, stock, order, catalog, identity, ping)."""


def any_cue(text_words: list[str], cues: Cues) -> bool:
    return any(has_stem(text_words, cue) for cue in cues)


def _asks_sizing(text_words: list[str]) -> bool:
    if any_cue(text_words, SIZING):
        return True
    # "який розмір мені взяти", "what size should i take": choosing, not availability.
    return any_cue(text_words, SIZE_WORD) and any_cue(text_words, CHOOSING)


def shop_topics(text: str) -> tuple[ShopTopic, ...]:
    """The shop questions `text` asks, in SHOP_TOPICS order."""
    return classify(text).topics


def classify(text: str) -> Reading:
    """The intent of `text` by its words alone (see the module's docstring)."""
    found = words(text)
    greets = any_cue(found, GREETING)
    thanks = any_cue(found, THANKS)
    cues = {
        "price": any_cue(found, PRICE),
        "stock": any_cue(found, STOCK),
        "order": any_cue(found, ORDER),
        "catalog": any_cue(found, CATALOG),
        "identity": any_cue(found, IDENTITY),
        "ping": any_cue(found, PING),
    }
    if cues["identity"]:
        return Reading("other", greets=greets, thanks=thanks, cues=cues)
    if any_cue(found, HUMAN):
        return Reading("human", greets=greets, thanks=thanks, cues=cues)
    if any_cue(found, COMPLAINT):
        return Reading("complaint", greets=greets, thanks=thanks, cues=cues)
    topics: list[ShopTopic] = []
    returns = any_cue(found, RETURNS)
    if any_cue(found, DELIVERY):
        topics.append("delivery")
    if any_cue(found, PAYMENT):
        topics.append("payment")
    if returns:
        topics.append("returns")
    # An exchange for another size is a return, not a size question.
    if not returns and _asks_sizing(found):
        topics.append("sizing")
    if any_cue(found, CONTACTS) or ("delivery" not in topics and any_cue(found, CONTACTS_WEAK)):
        topics.append("contacts")
    if any_cue(found, HOURS):
        topics.append("hours")
    if topics:
        return Reading(topics[0], tuple(topics), greets, thanks, cues)
    names: tuple[Intent, ...] = ("order", "price", "catalog", "stock")
    for name in names:
        if cues[name]:
            return Reading(name, (), greets, thanks, cues)
    if thanks:
        return Reading("thanks", (), greets, thanks, cues)
    if greets:
        return Reading("greeting", (), greets, thanks, cues)
    return Reading("other", (), greets, thanks, cues)
