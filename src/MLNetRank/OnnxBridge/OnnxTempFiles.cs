using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using Microsoft.ML;

namespace MLNetRank.Onnx
{
    /// <summary>
    /// The one temporary-file scheme for handing ONNX bytes to ML.NET's <c>OnnxTransformer</c>. ML.NET's transformer keeps
    /// reading its model file by name (it saves with <c>File.ReadAllBytes(modelFile)</c>), so the file must live as long
    /// as the transformer may be saved; deleting it right after construction breaks <c>mlContext.Model.Save</c>.
    /// MLNetRank writes the files into one folder per process under the context's <see cref="MLContext.TempFilePath"/>
    /// (<c>&lt;TempFilePath&gt;/MLNetRank-onnx-&lt;pid&gt;</c>; the system temp folder when unset), deletes a file when its
    /// owner (<see cref="OnnxModelFile"/>) is disposed and the folder once it is empty, deletes what is left when the
    /// process exits, and removes folders left behind by processes that no longer run. (<c>ApplyOnnxModel(Stream)</c>
    /// instead leaves its copy in <c>MLContext.TempFilePath</c> forever: DESIGN.md pitfall 3.)
    /// </summary>
    internal static class OnnxTempFiles
    {
        private const string Prefix = "MLNetRank-onnx-";
        private static readonly object _lock = new object();
        private static readonly HashSet<string> _folders = new HashSet<string>(StringComparer.Ordinal);
        private static bool _exitHandler;

        /// <summary>This process's folder under <paramref name="context"/>'s temp path (null: the system temp folder).</summary>
        public static string FolderFor(MLContext? context)
        {
            string root = context is null || string.IsNullOrEmpty(context.TempFilePath) ? Path.GetTempPath() : context.TempFilePath;
            return Path.Combine(root, Prefix + Environment.ProcessId);
        }

        /// <summary>Writes <paramref name="bytes"/> to a new file in this process's folder and returns its owner.</summary>
        public static OnnxModelFile Write(MLContext? context, byte[] bytes)
        {
            string folder = FolderFor(context);
            string path = Path.Combine(folder, Guid.NewGuid().ToString("N") + ".onnx");
            lock (_lock)
            {
                Initialize(folder);
                Directory.CreateDirectory(folder);
                File.WriteAllBytes(path, bytes);
            }
            return new OnnxModelFile(path);
        }

        /// <summary>Deletes <paramref name="path"/> if it can (a file still open elsewhere on Windows is left for process
        /// exit), and its folder once empty.</summary>
        public static void Delete(string? path)
        {
            if (string.IsNullOrEmpty(path))
                return;
            lock (_lock)
            {
                try
                {
                    File.Delete(path);
                    string? folder = Path.GetDirectoryName(path);
                    if (folder is not null && _folders.Contains(folder) && Directory.Exists(folder) && Directory.GetFileSystemEntries(folder).Length == 0)
                        Directory.Delete(folder);
                }
                catch (IOException)
                {
                }
                catch (UnauthorizedAccessException)
                {
                }
            }
        }

        private static void Initialize(string folder)
        {
            if (!_folders.Add(folder))
                return;
            if (!_exitHandler)
            {
                _exitHandler = true;
                AppDomain.CurrentDomain.ProcessExit += (_, _) =>
                {
                    string[] folders;
                    lock (_lock)
                        folders = new List<string>(_folders).ToArray();
                    foreach (var f in folders)
                        TryDeleteFolder(f);
                };
            }
            // Folders of processes that ended without running their exit handler (killed, crashed).
            try
            {
                string? root = Path.GetDirectoryName(folder);
                if (root is null || !Directory.Exists(root))
                    return;
                foreach (var dir in Directory.GetDirectories(root, Prefix + "*"))
                {
                    if (!int.TryParse(Path.GetFileName(dir).AsSpan(Prefix.Length), out int pid) || pid == Environment.ProcessId)
                        continue;
                    if (!IsRunning(pid))
                        TryDeleteFolder(dir);
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        private static bool IsRunning(int pid)
        {
            try
            {
                using var p = Process.GetProcessById(pid);
                return !p.HasExited;
            }
            catch (ArgumentException)
            {
                return false;
            }
            catch (InvalidOperationException)
            {
                return false;
            }
        }

        private static void TryDeleteFolder(string dir)
        {
            try
            {
                if (Directory.Exists(dir))
                    Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    /// <summary>A temporary ONNX model file that <c>OnnxTransformer</c> reads; disposing it deletes the file.</summary>
    internal sealed class OnnxModelFile : IDisposable
    {
        private string? _path;

        internal OnnxModelFile(string path) => _path = path;

        /// <summary>The file's path (null once disposed).</summary>
        public string? Path => _path;

        /// <summary>Deletes the file.</summary>
        public void Dispose()
        {
            OnnxTempFiles.Delete(_path);
            _path = null;
        }
    }
}
