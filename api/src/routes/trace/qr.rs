//! QR codes of trace pages: SVG (the `qrcode` crate's renderer) and PNG (its
//! module matrix drawn with a quiet zone and written by the `png` crate).

use qrcode::{Color, EcLevel, QrCode};

/// Pixels per module in the PNG.
const SCALE: usize = 8;
/// Modules of white border (the standard's quiet zone).
const QUIET: usize = 4;

fn code(url: &str) -> anyhow::Result<QrCode> {
    // M: readable with 15 % of the label smudged
    Ok(QrCode::with_error_correction_level(
        url.as_bytes(),
        EcLevel::M,
    )?)
}

pub fn svg(url: &str) -> anyhow::Result<String> {
    Ok(code(url)?
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}

pub fn png(url: &str) -> anyhow::Result<Vec<u8>> {
    let qr = code(url)?;
    let width = qr.width();
    let colors = qr.to_colors();
    let side = (width + 2 * QUIET) * SCALE;
    let mut pixels = vec![255u8; side * side];
    for (i, c) in colors.iter().enumerate() {
        if *c != Color::Dark {
            continue;
        }
        let (mx, my) = (i % width + QUIET, i / width + QUIET);
        for y in my * SCALE..(my + 1) * SCALE {
            let row = y * side;
            pixels[row + mx * SCALE..row + (mx + 1) * SCALE].fill(0);
        }
    }
    let mut out = Vec::new();
    {
        let side = u32::try_from(side)?;
        let mut encoder = png::Encoder::new(&mut out, side, side);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&pixels)?;
    }
    Ok(out)
}
