//! The word lists record values are drawn from.
//!
//! Why these words: besides plausible game vocabulary they carry what breaks
//! naive consumers of real captures: non-ASCII text (accents, CJK, Cyrillic,
//! emoji with modifiers and joiners), JSON escapes (`"`, `\`, newlines, tabs),
//! `|` and `:` that collide with delimiters and partition paths, and strings
//! that look like markup or JSON but are not.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// A uniformly random entry of `words`.
pub(super) fn pick(rng: &mut ChaCha8Rng, words: &'static [&'static str]) -> &'static str {
    words[rng.random_range(0..words.len())]
}

/// Display names and handles, from many scripts and with quotes and backslashes.
pub(super) const NAMES: &[&str] = &[
    "Zoë",
    "Jürgen",
    "Łukasz",
    "José",
    "Søren",
    "Ærøskøbing",
    "山田太郎",
    "さくら",
    "김민준",
    "Ольга",
    "Αλέξανδρος",
    "O'Brien",
    "\"Ace\" Rimmer",
    "back\\slash",
    "Mia 🎧",
    "Renée",
    "François",
    "Björk",
    "Nguyễn Văn An",
    "محمد",
    "xXsniperXx",
    "n00b_slayer",
    "Dr. Pixel",
    "ŻółwBoss",
    "Straße|Kid",
    "Ana María",
];
/// Chat words; joined by `push_text` into messages.
pub(super) const WORDS: &[&str] = &[
    "gg",
    "nice",
    "run",
    "team",
    "up?",
    "ok",
    "lol",
    "brb",
    "wanna",
    "raid",
    "tonight",
    "at",
    "9pm",
    "boss",
    "loot",
    "again",
    "the",
    "is",
    "we",
    "need",
    "a",
    "healer",
    "Schöne",
    "Grüße",
    "très",
    "bien",
    "café",
    "naïve",
    "Straße",
    "日本語",
    "こんにちは",
    "ありがとう",
    "🎮",
    "🔥",
    "👍🏽",
    "😀",
    "👨‍👩‍👧",
    "Привет",
    "друг",
    "¿qué",
    "tal?",
    "Zoë",
    "|",
    "a|b",
    "\"quoted\"",
    "back\\slash",
    "100%",
    "<b>bold</b>",
    "&amp;",
    "Ærø",
    "€5",
    "{not:json}",
    "C:\\Games\\save",
    "ok!",
    "see",
    "you",
    "tomorrow",
    "level",
    "42",
    "done",
    "🙂",
];
/// Save-game checkpoint names.
pub(super) const CHECKPOINTS: &[&str] = &[
    "forest-2",
    "castle:gate",
    "boss_room",
    "tutorial",
    "Château d'If",
    "dungeon|B3",
    "sky.temple",
    "万里の長城",
];
/// Difficulty settings.
pub(super) const DIFFICULTY: &[&str] = &["easy", "normal", "hard", "nightmare"];
/// ISO 3166 country codes.
pub(super) const COUNTRIES: &[&str] = &["DE", "FR", "JP", "US", "BR", "ES", "PL", "GB", "KR", "SE"];
/// BCP 47 locale tags.
pub(super) const LOCALES: &[&str] = &["en-US", "de-DE", "ja-JP", "fr-FR", "pt-BR", "es-ES", "ko-KR"];
/// Profile pronouns, including the empty string.
pub(super) const PRONOUNS: &[&str] = &["she/her", "he/him", "they/them", ""];
/// UI themes.
pub(super) const THEMES: &[&str] = &["dark", "light", "system", "high-contrast", "solarized:dark"];
/// Key bindings, including a backslash, `|` and a tab.
pub(super) const KEYBINDS: &[&str] = &[
    "W",
    "A",
    "S",
    "D",
    "Space",
    "Ctrl+Shift+K",
    "Mouse4",
    "Ä",
    "Ö",
    "`",
    "\\",
    "|",
    "\t",
];
/// Device models.
pub(super) const MODELS: &[&str] = &[
    "iPhone15,2",
    "Pixel 8 Pro",
    "SM-S918B",
    "iPad13,4",
    "Quest 3",
    "Nintendo Switch",
    "Steam Deck",
];
/// Operating system versions.
pub(super) const OSES: &[&str] = &[
    "iOS 17.3.1",
    "Android 14",
    "iPadOS 17.2",
    "Windows 11 23H2",
    "SteamOS 3.5",
];
/// Graphics quality presets.
pub(super) const QUALITY: &[&str] = &["low", "medium", "high", "ultra", "custom|1080p|60"];
/// Hotbar entries.
pub(super) const HOTBAR: &[&str] = &["sword", "bow", "potion:red", "potion:blue", "map", "torch", "—"];
/// Inventory item names.
pub(super) const ITEMS: &[&str] = &[
    "sword_of_Ærø",
    "health_potion",
    "Schild der Ewigkeit",
    "magic-wand",
    "dragon:egg",
    "日本刀",
    "🍄 mushroom",
    "arrow",
    "key|gold",
];
/// Item enchantments.
pub(super) const ENCHANTS: &[&str] = &["fire", "ice", "poison", "lightning", "☄ meteor", "soul|bound"];
/// Save-game tags, with quotes, a backslash and a newline.
pub(super) const TAGS: &[&str] = &[
    "a\"b",
    "c\\d",
    "speed-run",
    "日本",
    "co-op|pvp",
    "line\nbreak",
    "🏆",
    "pro",
];
/// In-app purchase SKUs.
pub(super) const SKUS: &[&str] = &[
    "gems_500",
    "gems_1200",
    "starter.pack",
    "season-pass:2024",
    "remove_ads",
];
/// ISO 4217 currency codes.
pub(super) const CURRENCIES: &[&str] = &["USD", "EUR", "JPY", "GBP", "BRL", "KRW"];
/// Prices as shown in stores.
pub(super) const PRICES: &[&str] = &["0.99", "4.99", "9.99", "19.99", "49.99", "1200", "¥980"];
/// App stores.
pub(super) const STORES: &[&str] = &["google|play", "app_store", "steam", "amazon"];
/// UI panel ids.
pub(super) const PANELS: &[&str] = &["map", "chat", "party", "quests", "inventory"];
