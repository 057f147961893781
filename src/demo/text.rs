//! Synthetic text: company and person names, union names, complaint
//! descriptions, and personal numbers that cannot belong to anyone.
//!
//! Never produces a real-looking NIK: every NIK starts with the region prefix
//! `99`, which does not exist. Phone numbers use the `+62 800` range, which is
//! not a mobile range.

use rand::Rng;
use std::fmt::Write as _;

use super::rng::choose;

const GIVEN: &[&str] = &[
    "Ardiyanto",
    "Sulastri",
    "Bagaswara",
    "Wulandari",
    "Darmaji",
    "Kusumawati",
    "Rahmadani",
    "Setyorini",
    "Joko Lelono",
    "Nuraini",
    "Hendrawan",
    "Puspitasari",
    "Agus Sarwono",
    "Lestiyani",
    "Budi Santika",
    "Yuniarsih",
    "Slamet Riyadi",
    "Endang Murtini",
    "Rizki Firdaus",
    "Ayu Lintang",
    "Marlina",
    "Taufikurahman",
    "Sri Handayani",
    "Dodi Kurniawan",
    "Fitri Anggraini",
    "Irfan Maulidi",
    "Wahyu Pratomo",
    "Siti Rohmah",
];
const FAMILY: &[&str] = &[
    "Wibisana",
    "Prasetyawan",
    "Hadikusumo",
    "Simanjorang",
    "Lumbantoruan",
    "Pangaribowo",
    "Rachmatika",
    "Sutarjono",
    "Tanjungsari",
    "Wiraatmaja",
    "Halimatusa",
    "Nasutiyono",
    "Purbasari",
    "Sembiring Meliala",
    "Daeng Matutu",
    "Laksamana",
    "Kartasasmita",
    "Suryodiningrat",
];
const CO_PREFIX: &[&str] = &["PT", "PT", "PT", "PT", "CV", "CV", "UD", "Koperasi", "PT"];
const CO_WORDS: &[&str] = &[
    "Maju",
    "Jaya",
    "Sejahtera",
    "Abadi",
    "Makmur",
    "Sentosa",
    "Karya",
    "Mandiri",
    "Sumber",
    "Rejeki",
    "Nusantara",
    "Indo",
    "Prima",
    "Mitra",
    "Bersama",
    "Sinar",
    "Terang",
    "Cahaya",
    "Agung",
    "Utama",
    "Lestari",
    "Perkasa",
    "Gemilang",
    "Bumi",
    "Samudra",
    "Harapan",
    "Sukses",
    "Berkah",
    "Kencana",
    "Mulia",
];
const CO_TRADE: &[&str] = &[
    "Tekstil",
    "Garmen",
    "Logistik",
    "Konstruksi",
    "Pangan",
    "Plastik",
    "Elektronika",
    "Sawit",
    "Perikanan",
    "Farmasi",
    "Mebel",
    "Percetakan",
    "Tambang",
    "Otomotif",
    "Kemasan",
    "Ritel",
    "Perhotelan",
    "Sepatu",
];
const UNION_TRADE: &[&str] = &[
    "Logam",
    "Tekstil Sandang",
    "Kimia Energi",
    "Garmen",
    "Transportasi",
    "Perkebunan",
    "Farmasi",
    "Elektronik",
    "Pariwisata",
    "Konstruksi",
    "Makanan Minuman",
    "Percetakan",
];
const UNION_WORD: &[&str] = &["Sejahtera", "Bersatu", "Mandiri", "Perjuangan", "Reformasi", "Solidaritas"];

/// Union names that start with a character a spreadsheet would execute: valid
/// data that every CSV/XLSX written by the project must neutralise.
pub(crate) const FORMULA_UNIONS: &[&str] = &["@SP Digital Bersatu", "-SB Pekerja Harian-", "+SP Ojol Nusantara"];

/// Company names placed at fixed registry positions, each exercising one
/// quoting or spreadsheet case.
pub(crate) const SPECIAL_COMPANIES: &[(u32, &str)] = &[
    (3, "CV Makmur, Jaya & Sentosa"),
    (5, "PT \"Sinar Terang\" Abadi"),
    (8, "PT Karya Bersama\nDivisi Garmen"),
    (11, "=Sigma Mandiri Teknik"),
    (14, "+Plus Karya Indonesia"),
    (17, "-Minus Satu Tekstil"),
    (20, "@Home Furnitur Jepara"),
    (23, "PT Sumber \"Rejeki\", Tbk"),
];

pub(crate) fn person_name<R: Rng + ?Sized>(rng: &mut R) -> String {
    format!("{} {}", choose(rng, GIVEN), choose(rng, FAMILY))
}

pub(crate) fn company_name<R: Rng + ?Sized>(rng: &mut R) -> String {
    let mut s = String::with_capacity(40);
    s.push_str(*choose(rng, CO_PREFIX));
    let words = rng.random_range(2..=3);
    for _ in 0..words {
        s.push(' ');
        s.push_str(*choose(rng, CO_WORDS));
    }
    if rng.random_bool(0.45) {
        s.push(' ');
        s.push_str(*choose(rng, CO_TRADE));
    }
    if rng.random_bool(0.02) {
        s.push_str(", Tbk");
    }
    s
}

pub(crate) fn union_name<R: Rng + ?Sized>(rng: &mut R) -> String {
    if rng.random_bool(0.03) {
        return (*choose(rng, FORMULA_UNIONS)).to_owned();
    }
    let kind = if rng.random_bool(0.6) { "SP" } else { "SB" };
    format!("{kind} {} {}", choose(rng, UNION_TRADE), choose(rng, UNION_WORD))
}

/// A 16-digit NIK with the non-existent region prefix `99`.
pub(crate) fn nik<R: Rng + ?Sized>(rng: &mut R) -> String {
    let district = rng.random_range(1..=99u32);
    let sub = rng.random_range(1..=40u32);
    let mut dd = rng.random_range(1..=28u32);
    if rng.random_bool(0.5) {
        dd += 40; // women: day of birth + 40
    }
    let mm = rng.random_range(1..=12u32);
    let yy = rng.random_range(60..=105u32) % 100;
    let serial = rng.random_range(1..=9999u32);
    format!("99{district:02}{sub:02}{dd:02}{mm:02}{yy:02}{serial:04}")
}

/// An 18-digit NIP: birth date, appointment month, gender, serial.
pub(crate) fn nip<R: Rng + ?Sized>(rng: &mut R) -> String {
    let by = rng.random_range(1966..=1998u32);
    let bm = rng.random_range(1..=12u32);
    let bd = rng.random_range(1..=28u32);
    let ay = (by + rng.random_range(23..=30u32)).min(2024);
    let am = rng.random_range(1..=12u32);
    let g = rng.random_range(1..=2u32);
    let serial = rng.random_range(1..=999u32);
    format!("{by:04}{bm:02}{bd:02}{ay:04}{am:02}{g}{serial:03}")
}

/// A clearly synthetic phone number.
pub(crate) fn phone<R: Rng + ?Sized>(rng: &mut R) -> String {
    format!(
        "+62 800-{:04}-{:04}",
        rng.random_range(0..10_000u32),
        rng.random_range(0..10_000u32)
    )
}

/// Free-text description of a complaint in Bahasa Indonesia. Returns the text
/// and whether it embeds a (fake) personal number that the ingester must drop.
pub(crate) fn description<R: Rng + ?Sized>(rng: &mut R, violation: &str, workers: Option<u32>) -> (String, bool) {
    let n = workers.unwrap_or(1);
    let mut s = match violation {
        "UPAH_MINIMUM" => format!(
            "Upah yang dibayarkan kepada {n} pekerja di bawah UMK, hanya sekitar Rp{}.000 per bulan.",
            rng.random_range(1200..2400)
        ),
        "UPAH_TIDAK_DIBAYAR" => format!("Gaji bulan lalu belum dibayar, sudah terlambat {} minggu.", rng.random_range(2..9)),
        "THR" => "THR Lebaran tidak dibayarkan, padahal sudah H-7. Perusahaan bilang \"nanti dicicil\".".to_owned(),
        "BPJS" => format!("Pekerja tidak didaftarkan BPJS Ketenagakerjaan, {n} orang, potongan gaji tetap jalan."),
        "LEMBUR" => "Lembur tiap hari sampai jam 22.00, tidak dibayar, hanya diberi uang makan.".to_owned(),
        "WAKTU_KERJA" => "Kerja 7 hari seminggu, 12 jam sehari, tanpa hari libur.".to_owned(),
        "PHK_PESANGON" => "Di-PHK sepihak tanpa pesangon setelah 6 tahun bekerja.".to_owned(),
        "PKWT" => "Kontrak PKWT diperpanjang terus selama 5 tahun, pekerjaan bersifat tetap.".to_owned(),
        "K3" => "Tidak ada APD, mesin tanpa pelindung, sudah ada kecelakaan kerja bulan ini.".to_owned(),
        "KEBEBASAN_BERSERIKAT" => "Pengurus serikat dimutasi dan diancam PHK setelah mendirikan serikat.".to_owned(),
        "PEKERJA_ANAK" => "Ada pekerja di bawah umur, sekitar 14 tahun, bekerja di bagian pengemasan.".to_owned(),
        "DISKRIMINASI" => "Pekerja perempuan yang hamil tidak diberi cuti melahirkan, kontrak diputus.".to_owned(),
        _ => "Masalah hubungan kerja, mohon ditindaklanjuti.".to_owned(),
    };
    let roll = rng.random_range(0..100u32);
    let mut personal = false;
    if roll < 4 {
        let _ = write!(s, " Hubungi saya di {}.", phone(rng));
        personal = true;
    } else if roll < 7 {
        let _ = write!(s, " NIK pelapor {}.", nik(rng));
        personal = true;
    } else if roll < 12 {
        s.push_str("\nKeterangan tambahan: sudah lapor ke HRD, tidak ada tanggapan.");
    } else if roll < 16 {
        s.push_str(" Lokasi: gudang 2, blok \"C\", lantai 3.");
    }
    (s, personal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::rng::KeyedRng;

    #[test]
    fn personal_numbers_are_synthetic() {
        let mut rng = KeyedRng::new(7);
        for _ in 0..1000 {
            let k = nik(&mut rng);
            assert_eq!(k.len(), 16);
            assert!(k.starts_with("99") && k.bytes().all(|b| b.is_ascii_digit()));
            let n = nip(&mut rng);
            assert_eq!(n.len(), 18);
            assert!(n.bytes().all(|b| b.is_ascii_digit()));
            assert!(phone(&mut rng).starts_with("+62 800-"));
        }
    }
}
