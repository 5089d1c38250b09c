using System;
using System.IO;
using System.Runtime.InteropServices;
using Microsoft.ML;

namespace MLNetRank.Common
{
    /// <summary>
    /// Writes a file so that a crash, a kill or a full disk in the middle of the write never leaves a torn file at the
    /// destination: the content goes to a temporary file in the same directory, is flushed to the disk (<c>fsync</c>), and
    /// only then renamed over the destination (an atomic replace on Linux, macOS and Windows NTFS); on Linux the directory
    /// is flushed too, so the rename itself survives a power loss. A reader of the destination sees the old file or the new
    /// one, never a mix. On failure the temporary file is deleted and the destination is left as it was.
    /// </summary>
    public static class AtomicFile
    {
        /// <summary>Suffix of the temporary file while a write is in progress: <c>{path}.{random}.tmp</c>.</summary>
        public const string TemporarySuffix = ".tmp";

        /// <summary>Writes <paramref name="path"/> atomically with what <paramref name="write"/> puts in the stream it is given.</summary>
        /// <param name="path">The destination file; its directory must exist.</param>
        /// <param name="write">Writes the whole content to the stream (do not close it).</param>
        public static void Write(string path, Action<Stream> write)
        {
            if (string.IsNullOrWhiteSpace(path))
                throw new ArgumentException("A file path is needed.", nameof(path));
            if (write is null)
                throw new ArgumentNullException(nameof(write));
            string full = Path.GetFullPath(path);
            string dir = Path.GetDirectoryName(full) ?? ".";
            if (!Directory.Exists(dir))
                throw new DirectoryNotFoundException($"The directory of '{path}' does not exist: '{dir}'.");
            string temp = $"{full}.{Guid.NewGuid():N}{TemporarySuffix}";
            try
            {
                using (var fs = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
                {
                    write(fs);
                    fs.Flush(flushToDisk: true);
                }
                File.Move(temp, full, overwrite: true);
            }
            catch
            {
                try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
                throw;
            }
            FlushDirectory(dir);
        }

        /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/> atomically.</summary>
        public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
        {
            var copy = bytes.ToArray();
            Write(path, s => s.Write(copy, 0, copy.Length));
        }

        /// <summary>fsync of the directory, so that the rename is on disk (Linux; best effort elsewhere, where the file system
        /// journals renames or offers no directory handle).</summary>
        private static void FlushDirectory(string dir)
        {
            if (!OperatingSystem.IsLinux())
                return;
            try
            {
                const int O_RDONLY = 0, O_DIRECTORY = 0x10000;
                int fd = open(dir, O_RDONLY | O_DIRECTORY);
                if (fd < 0)
                    return;
                fsync(fd);
                close(fd);
            }
            catch (DllNotFoundException) { }
            catch (EntryPointNotFoundException) { }
        }

        [DllImport("libc", SetLastError = true)]
        private static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc", SetLastError = true)]
        private static extern int fsync(int fd);

        [DllImport("libc", SetLastError = true)]
        private static extern int close(int fd);
    }
}

namespace Microsoft.ML
{
    /// <summary>Crash-safe saving of ML.NET models.</summary>
    public static class AtomicModelSaveExtensions
    {
        /// <summary>
        /// Saves <paramref name="model"/> (with the input schema, as <see cref="ModelOperationsCatalog.Save(ITransformer, DataViewSchema, string)"/>
        /// does) so that a crash or a kill in the middle of the save never destroys the model already at
        /// <paramref name="filePath"/>: the zip is written to a temporary file beside it, flushed to disk and renamed over the
        /// destination (see <see cref="MLNetRank.Common.AtomicFile"/>). Load it with <see cref="ModelOperationsCatalog.Load(string, out DataViewSchema)"/>
        /// as usual. A process killed mid-save may leave a <c>{filePath}.*.tmp</c> file behind; it is never read and can be deleted.
        /// </summary>
        /// <param name="catalog">The model operations of an <see cref="MLContext"/> (<c>mlContext.Model</c>).</param>
        /// <param name="model">The fitted model.</param>
        /// <param name="inputSchema">The schema of the model's input (may be null, as for ML.NET's own Save).</param>
        /// <param name="filePath">The destination zip; its directory must exist.</param>
        public static void SaveAtomically(this ModelOperationsCatalog catalog, ITransformer model, DataViewSchema? inputSchema, string filePath)
        {
            if (catalog is null)
                throw new ArgumentNullException(nameof(catalog));
            if (model is null)
                throw new ArgumentNullException(nameof(model));
            MLNetRank.Common.AtomicFile.Write(filePath, s => catalog.Save(model, inputSchema, s));
        }
    }
}
