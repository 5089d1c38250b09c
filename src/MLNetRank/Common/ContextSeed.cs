using System;
using System.Collections.Generic;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetRank.Common
{
    /// <summary>
    /// Draws seeds from an <see cref="MLContext"/>'s own random stream through public API only.
    /// ML.NET does not expose the context's seed; its documented behaviour is that
    /// <c>ShuffleRows(seed: null)</c> derives its randomness from the context. Each draw advances the
    /// context's stream, exactly as ML.NET's own trainers do, so the same <c>MLContext(seed)</c> and the same
    /// sequence of calls give the same seeds, and an unseeded context gives fresh ones.
    /// </summary>
    internal static class ContextSeed
    {
        private sealed class Row
        {
            public int Value { get; set; }
        }

        /// <summary>A 31-bit seed: <paramref name="explicitSeed"/> when given, else a draw from the context.</summary>
        public static int Resolve(MLContext context, int? explicitSeed)
            => explicitSeed ?? Draw(context);

        /// <summary>Draws a non-negative seed from the context's random stream.</summary>
        public static int Draw(MLContext context)
        {
            if (context is null)
                throw new ArgumentNullException(nameof(context));
            const int n = 1 << 12;
            var rows = new List<Row>(n);
            for (int i = 0; i < n; i++)
                rows.Add(new Row { Value = i });
            var data = context.Data.LoadFromEnumerable(rows);
            var shuffled = context.Data.ShuffleRows(data, seed: null, shufflePoolSize: n, shuffleSource: false);
            unchecked
            {
                int h = 17;
                using var cursor = shuffled.GetRowCursor(shuffled.Schema);
                var getter = cursor.GetGetter<int>(shuffled.Schema["Value"]);
                int value = 0;
                for (int k = 0; k < 4 && cursor.MoveNext(); k++)
                {
                    getter(ref value);
                    h = h * 4099 + value;
                }
                return h & int.MaxValue;
            }
        }
    }
}
