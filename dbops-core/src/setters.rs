//! `with_*` setters for the public options, settings and report structs. The structs are
//! `#[non_exhaustive]`, so a field added later breaks nobody: code outside this crate builds them
//! from `Default` and these setters instead of struct literals.

/// Writes a `with_<field>` setter for each listed field of `$ty`:
/// `with_setters!(Type { with_a => a: A, with_b => b: opt B, with_c => c: into C, with_d => d: opt D })`.
/// `opt` takes anything that converts into the field's `Option<B>` (`2` as well as `Some(2)` or
/// `None`), `into` anything that converts into `C` (a `&str` for a `String`), and `some` sets an
/// `Option` of a string or path to `Some` of anything that converts into it.
macro_rules! with_setters {
    ($ty:ident { $($body:tt)* }) => {
        impl $ty {
            $crate::setters::with_setters!(@items $ty; $($body)*);
        }
    };
    (@items $ty:ident;) => {};
    (@items $ty:ident; $setter:ident => $field:ident: opt $t:ty $(, $($rest:tt)*)?) => {
        #[doc = concat!("Sets [`", stringify!($field), "`](", stringify!($ty), "#structfield.", stringify!($field), ") (`Some` of a value, or `None`).")]
        #[must_use]
        pub fn $setter(mut self, value: impl Into<Option<$t>>) -> Self {
            self.$field = value.into();
            self
        }
        $crate::setters::with_setters!(@items $ty; $($($rest)*)?);
    };
    (@items $ty:ident; $setter:ident => $field:ident: into $t:ty $(, $($rest:tt)*)?) => {
        #[doc = concat!("Sets [`", stringify!($field), "`](", stringify!($ty), "#structfield.", stringify!($field), ").")]
        #[must_use]
        pub fn $setter(mut self, value: impl Into<$t>) -> Self {
            self.$field = value.into();
            self
        }
        $crate::setters::with_setters!(@items $ty; $($($rest)*)?);
    };
    (@items $ty:ident; $setter:ident => $field:ident: $t:ty $(, $($rest:tt)*)?) => {
        #[doc = concat!("Sets [`", stringify!($field), "`](", stringify!($ty), "#structfield.", stringify!($field), ").")]
        #[must_use]
        pub fn $setter(mut self, value: $t) -> Self {
            self.$field = value;
            self
        }
        $crate::setters::with_setters!(@items $ty; $($($rest)*)?);
    };
}

pub(crate) use with_setters;
