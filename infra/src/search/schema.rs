//! The engine's schema and how a listing becomes a document.

use domain::catalog::{CertKind, Grade, SaleMode};
use domain::search::analysis::{chinese_words, compact, grams, pinyin_of};
use domain::search::SearchDoc;
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, FAST,
    INDEXED, STRING,
};
use tantivy::tokenizer::{PreTokenizedString, Token};
use tantivy::TantivyDocument;

/// Text fields are searched in groups: the title, the "meta" group
/// (variety and category names), and "any" — title, meta and description
/// together, so "every word somewhere" is one term per word rather than a
/// union over the groups (the title and meta groups only tell a match's
/// tier).
#[derive(Clone, Copy)]
pub struct Group {
    pub grams: Field,
    /// Pinyin tokens of the title's and meta group's words.
    pub pinyin: Field,
}

#[derive(Clone, Copy)]
pub struct Fields {
    /// The listing id as text (deletes go by it).
    pub id: Field,
    pub id_hi: Field,
    pub id_lo: Field,
    pub title: Group,
    pub meta: Group,
    pub any: Group,
    /// The title without separators (exact match).
    pub exact: Field,
    /// Filter tokens: `c:` category (and ancestors), `r:` every region
    /// prefix, `k:` certification, `g:` grade, `m:` sale mode, `s:` seller.
    pub filter: Field,
    /// Suggestion tokens: `w:word`, `p:pinyin\u{1}word`, `i:initials\u{1}word`.
    pub suggest: Field,
    pub price: Field,
    pub sold: Field,
    pub created: Field,
    /// Facet columns: category ordinal, province, enum ordinals, a bit per
    /// certification.
    pub category: Field,
    pub province: Field,
    pub grade: Field,
    pub mode: Field,
    pub certs: Field,
}

/// The field the index is sorted by (descending).
pub const SOLD: &str = "sold";

pub const SUGGEST_SEP: char = '\u{1}';

pub fn build_schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let positions = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("raw")
            .set_fieldnorms(false)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let fast = NumericOptions::default().set_fast();
    let group = |b: &mut tantivy::schema::SchemaBuilder, name: &str| Group {
        grams: b.add_text_field(&format!("{name}_gram"), positions.clone()),
        pinyin: b.add_text_field(&format!("{name}_py"), STRING),
    };
    let title = group(&mut b, "t");
    let meta = group(&mut b, "m");
    let any = group(&mut b, "a");
    let fields = Fields {
        id: b.add_text_field("id", STRING),
        id_hi: b.add_u64_field("id_hi", fast.clone()),
        id_lo: b.add_u64_field("id_lo", fast.clone()),
        title,
        meta,
        any,
        exact: b.add_text_field("exact", STRING),
        filter: b.add_text_field("f", STRING),
        suggest: b.add_text_field("sug", STRING),
        price: b.add_i64_field("price", INDEXED | FAST),
        sold: b.add_i64_field(SOLD, fast.clone()),
        created: b.add_i64_field("created", fast.clone()),
        category: b.add_u64_field("cat", fast.clone()),
        province: b.add_u64_field("prov", fast.clone()),
        grade: b.add_u64_field("grade", fast.clone()),
        mode: b.add_u64_field("mode", fast.clone()),
        certs: b.add_u64_field("certs", fast),
    };
    (b.build(), fields)
}

pub fn ordinal<T: PartialEq>(all: &[T], v: T) -> u64 {
    all.iter().position(|x| *x == v).unwrap_or(all.len()) as u64
}

pub fn cert_bits(certs: &[CertKind]) -> u64 {
    certs
        .iter()
        .fold(0, |bits, c| bits | 1 << ordinal(CertKind::ALL, *c))
}

fn pre_tokenized(grams: Vec<(usize, String)>) -> PreTokenizedString {
    PreTokenizedString {
        text: String::new(),
        tokens: grams
            .into_iter()
            .map(|(position, text)| Token {
                offset_from: 0,
                offset_to: 0,
                position,
                text,
                position_length: 1,
            })
            .collect(),
    }
}

/// The document of an active listing.
pub fn to_document(f: &Fields, d: &SearchDoc, category: u64) -> TantivyDocument {
    let mut doc = TantivyDocument::default();
    doc.add_text(f.id, d.id.to_string());
    let (hi, lo) = d.id.0.as_u64_pair();
    doc.add_u64(f.id_hi, hi);
    doc.add_u64(f.id_lo, lo);
    let meta = d.meta_texts();
    doc.add_pre_tokenized_text(f.title.grams, pre_tokenized(grams(&[&d.title])));
    doc.add_pre_tokenized_text(f.meta.grams, pre_tokenized(grams(&meta)));
    let mut everything = vec![d.title.as_str()];
    everything.extend(&meta);
    everything.push(&d.description);
    doc.add_pre_tokenized_text(f.any.grams, pre_tokenized(grams(&everything)));
    let title_words = chinese_words(&[&d.title]);
    let meta_words = chinese_words(&meta);
    let mut suggest: Vec<String> = Vec::new();
    for (words, field) in [(&title_words, f.title.pinyin), (&meta_words, f.meta.pinyin)] {
        for w in words {
            let spelt = pinyin_of(w);
            if let Some((full, initials)) = &spelt {
                for field in [field, f.any.pinyin] {
                    doc.add_text(field, full);
                    doc.add_text(field, initials);
                }
            }
            suggest.push(format!("w:{w}"));
            if let Some((full, initials)) = spelt {
                suggest.push(format!("p:{full}{SUGGEST_SEP}{w}"));
                suggest.push(format!("i:{initials}{SUGGEST_SEP}{w}"));
            }
        }
    }
    suggest.sort();
    suggest.dedup();
    for s in suggest {
        doc.add_text(f.suggest, s);
    }
    doc.add_text(f.exact, compact(&d.title));
    for c in &d.category_path {
        doc.add_text(f.filter, format!("c:{c}"));
    }
    for len in 1..=d.region_code.len() {
        if let Some(p) = d.region_code.get(..len) {
            doc.add_text(f.filter, format!("r:{p}"));
        }
    }
    for c in &d.certifications {
        doc.add_text(f.filter, format!("k:{}", c.as_str()));
    }
    doc.add_text(f.filter, format!("g:{}", d.grade.as_str()));
    doc.add_text(f.filter, format!("m:{}", d.sale_mode.as_str()));
    doc.add_text(f.filter, format!("s:{}", d.seller_id));
    doc.add_i64(f.price, d.price_fen);
    doc.add_i64(f.sold, d.sold_qty);
    doc.add_i64(f.created, d.created_at.timestamp_micros());
    doc.add_u64(f.category, category);
    doc.add_u64(f.province, d.province().parse().unwrap_or(0));
    doc.add_u64(f.grade, ordinal(Grade::ALL, d.grade));
    doc.add_u64(f.mode, ordinal(SaleMode::ALL, d.sale_mode));
    doc.add_u64(f.certs, cert_bits(&d.certifications));
    doc
}
