//! Binary COPY values PostgreSQL's types need that the driver does not map: enum labels and
//! fixed-point `numeric` values.

use bytes::{BufMut, BytesMut};
use tokio_postgres::types::{IsNull, Kind, ToSql, Type, to_sql_checked};

/// An enum label (binary format: the label's bytes).
#[derive(Debug, Clone, Copy)]
pub struct Label(pub &'static str);

impl ToSql for Label {
    fn to_sql(
        &self,
        _ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.put_slice(self.0.as_bytes());
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        matches!(ty.kind(), Kind::Enum(_))
    }

    to_sql_checked!();
}

/// A `numeric` with two decimals, given in hundredths (`1234` is 12.34).
#[derive(Debug, Clone, Copy)]
pub struct Hundredths(pub i64);

impl ToSql for Hundredths {
    fn to_sql(
        &self,
        _ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        // Base-10000 digits: the integer part's groups, then one group for the two decimals.
        let abs = self.0.unsigned_abs();
        let (mut int, frac) = (abs / 100, (abs % 100) as i16 * 100);
        let mut groups = Vec::new();
        while int > 0 {
            groups.push((int % 10_000) as i16);
            int /= 10_000;
        }
        groups.reverse();
        let weight = groups.len() as i16 - 1;
        groups.push(frac);
        out.put_i16(groups.len() as i16);
        out.put_i16(weight);
        out.put_u16(if self.0 < 0 { 0x4000 } else { 0 });
        out.put_i16(2);
        for g in groups {
            out.put_i16(g);
        }
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::NUMERIC
    }

    to_sql_checked!();
}
