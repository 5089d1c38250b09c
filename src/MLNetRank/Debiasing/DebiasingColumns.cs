using System;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Common;

namespace MLNetRank.Debiasing
{
    /// <summary>Column checks and typed getters shared by the debiasing estimators.</summary>
    internal static class DebiasingColumns
    {
        public const string PositionTypes = "Int32, Int64, Single or Double (1-based positions)";
        public const string LabelTypes = "Boolean or Single (> 0 = click)";

        public static bool IsPositionType(DataViewType t)
            => t == NumberDataViewType.Int32 || t == NumberDataViewType.Int64 || t == NumberDataViewType.Single || t == NumberDataViewType.Double;

        public static bool IsPosition(SchemaShape.Column c)
            => c.Kind == SchemaShape.Column.VectorKind.Scalar && !c.IsKey && IsPositionType(c.ItemType);

        public static bool IsLabelType(DataViewType t) => t == BooleanDataViewType.Instance || t == NumberDataViewType.Single;

        public static bool IsBoolean(SchemaShape.Column c)
            => c.Kind == SchemaShape.Column.VectorKind.Scalar && !c.IsKey && c.ItemType == BooleanDataViewType.Instance;

        /// <summary>A getter returning the position as a double, whatever its numeric type.</summary>
        public static Func<double> PositionGetter(DataViewRow row, DataViewSchema.Column col)
        {
            var t = col.Type;
            if (t == NumberDataViewType.Int32)
            {
                var g = row.GetGetter<int>(col);
                int v = 0;
                return () => { g(ref v); return v; };
            }
            if (t == NumberDataViewType.Int64)
            {
                var g = row.GetGetter<long>(col);
                long v = 0;
                return () => { g(ref v); return v; };
            }
            if (t == NumberDataViewType.Single)
            {
                var g = row.GetGetter<float>(col);
                float v = 0;
                return () => { g(ref v); return v; };
            }
            var gd = row.GetGetter<double>(col);
            double d = 0;
            return () => { gd(ref d); return d; };
        }

        /// <summary>A getter returning the click label as a Boolean (Single: &gt; 0; NaN throws naming the row).</summary>
        public static Func<long, bool> LabelGetter(DataViewRow row, DataViewSchema.Column col)
        {
            if (col.Type == BooleanDataViewType.Instance)
            {
                var g = row.GetGetter<bool>(col);
                bool v = false;
                return _ => { g(ref v); return v; };
            }
            var gf = row.GetGetter<float>(col);
            float f = 0;
            string name = col.Name;
            return r =>
            {
                gf(ref f);
                Check.Finite(f, name, r);
                return f > 0;
            };
        }

        /// <summary>A float literal of the ML.NET expression language (always with a decimal point, so it types as Single).</summary>
        public static string Literal(double value)
        {
            string s = value.ToString("0.0#################", CultureInfo.InvariantCulture);
            return s;
        }
    }
}
