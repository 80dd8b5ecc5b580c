"""Plausible Latvian and Russian (and sometimes English) idea titles and bodies, made from word lists.
The grammar is rough on purpose; what matters for the benchmarks is realistic length, letters (ā, č, ж, ё)
and a search_text as big as real ones."""

from __future__ import annotations

import random

LV = {
    "verb": ["Publicēt", "Ieviest", "Izveidot", "Atvērt", "Nodrošināt", "Uzlabot", "Digitalizēt",
             "Vienkāršot", "Paplašināt", "Pārskatīt", "Ierakstīt", "Paziņot laikus", "Atjaunot", "Samazināt",
             "Apvienot", "Stiprināt", "Pieprasīt", "Atklāt"],
    "adj": ["atvērtos", "pašvaldību", "valsts", "publiskos", "elektroniskos", "sabiedriskos", "iedzīvotāju",
            "vietējos", "reģionālos", "caurskatāmos", "mašīnlasāmos", "ikgadējos", "ministriju", "Saeimas"],
    "noun": ["datus", "budžetus", "iepirkumus", "līgumus", "lēmumus", "sēžu ierakstus", "reģistrus",
             "ziņojumus", "konsultācijas", "balsojumus", "atalgojumus", "deklarācijas", "projektus",
             "attīstības plānus", "pakalpojumus", "lobēšanas tikšanās", "revīzijas ieteikumus"],
    "tail": ["visās pašvaldībās", "vienā portālā", "tiešsaistē", "Rīgā un reģionos", "ar skaidru termiņu",
             "bez maksas", "katru mēnesi", "jauniešiem un senioriem", "latviešu un krievu valodā",
             "līdz nākamajām vēlēšanām", "ar iedzīvotāju līdzdalību", "mašīnlasāmā formā"],
    "why": ["Tas ļaus iedzīvotājiem saprast, kā tiek tērēta nauda.", "Tā mazinās korupcijas riskus.",
            "Žurnālisti un pētnieki varēs pārbaudīt lēmumus.", "Cilvēki uzticēsies valstij vairāk.",
            "Pašlaik šī informācija ir izkaisīta un grūti atrodama.", "Līdzīga pieeja jau strādā Igaunijā.",
            "Izmaksas ir nelielas, bet ieguvums sabiedrībai ir liels.", "Tā būs skaidra atbildība par rezultātu.",
            "Iedzīvotāji varēs laikus iesaistīties un izteikt viedokli.",
            "Dati jāpublicē atvērtā formātā, lai tos var izmantot atkārtoti."],
}
RU = {
    "verb": ["Публиковать", "Внедрить", "Создать", "Открыть", "Обеспечить", "Улучшить", "Оцифровать",
             "Упростить", "Расширить", "Пересмотреть", "Записывать", "Заранее объявлять", "Обновить",
             "Сократить", "Объединить", "Укрепить", "Раскрыть"],
    "adj": ["открытые", "муниципальные", "государственные", "публичные", "электронные", "общественные",
            "местные", "региональные", "прозрачные", "машиночитаемые", "ежегодные", "министерские"],
    "noun": ["данные", "бюджеты", "закупки", "договоры", "решения", "записи заседаний", "реестры",
             "отчёты", "консультации", "голосования", "зарплаты", "декларации", "проекты",
             "планы развития", "услуги", "встречи с лоббистами", "рекомендации аудита"],
    "tail": ["во всех самоуправлениях", "на одном портале", "онлайн", "в Риге и регионах",
             "с понятным сроком", "бесплатно", "каждый месяц", "для молодёжи и пожилых",
             "на латышском и русском языках", "до следующих выборов", "с участием жителей",
             "в машиночитаемом виде"],
    "why": ["Это позволит жителям понять, как тратятся деньги.", "Это снизит риски коррупции.",
            "Журналисты и исследователи смогут проверять решения.", "Люди будут больше доверять государству.",
            "Сейчас эта информация разбросана и её трудно найти.", "Похожий подход уже работает в Эстонии.",
            "Затраты невелики, а польза для общества большая.", "Появится ясная ответственность за результат.",
            "Жители смогут вовремя участвовать и высказать мнение.",
            "Данные нужно публиковать в открытом формате, чтобы их можно было использовать повторно."],
}
EN = {
    "verb": ["Publish", "Introduce", "Create", "Open up", "Ensure", "Improve", "Digitise", "Simplify",
             "Extend", "Review", "Record", "Announce early"],
    "adj": ["open", "municipal", "national", "public", "electronic", "local", "regional", "transparent",
            "machine-readable", "annual"],
    "noun": ["data", "budgets", "procurements", "contracts", "decisions", "meeting recordings", "registers",
             "reports", "consultations", "votes", "salaries", "declarations", "development plans"],
    "tail": ["in every municipality", "on one portal", "online", "in Riga and the regions",
             "with a clear deadline", "free of charge", "every month", "in Latvian and Russian"],
    "why": ["Residents will understand how money is spent.", "It reduces the risk of corruption.",
            "Journalists and researchers can check decisions.", "People will trust the state more.",
            "Today this information is scattered and hard to find.", "A similar approach works in Estonia.",
            "The cost is small and the benefit large."],
}


def _title(rng: random.Random, words: dict[str, list[str]]) -> str:
    return f"{rng.choice(words['verb'])} {rng.choice(words['adj'])} {rng.choice(words['noun'])} " \
           f"{rng.choice(words['tail'])}"


def _body(rng: random.Random, words: dict[str, list[str]], sentences: int) -> str:
    """A few paragraphs: proposals ("<title>.") mixed with reasons; 300-2,500 characters."""
    parts = []
    for index in range(sentences):
        sentence = _title(rng, words) + "." if index % 3 == 0 else rng.choice(words["why"])
        parts.append(sentence)
        if index % 4 == 3:
            parts.append("\n\n")
    return " ".join(parts).replace(" \n\n ", "\n\n").strip()


def idea_texts(rng: random.Random) -> dict[str, str | None]:
    """title_lv/ru/en and body_lv/ru/en of one idea; about a third also has English, a few lack Russian."""
    sentences = max(3, int(rng.lognormvariate(2.2, 0.5)))  # median ~9 sentences, a long tail
    has_ru = rng.random() < 0.95
    has_en = rng.random() < 0.3
    return {
        "title_lv": _title(rng, LV),
        "title_ru": _title(rng, RU) if has_ru else None,
        "title_en": _title(rng, EN) if has_en else None,
        "body_lv": _body(rng, LV, sentences),
        "body_ru": _body(rng, RU, sentences) if has_ru else None,
        "body_en": _body(rng, EN, sentences) if has_en else None,
    }
