using System.Security.Cryptography;
using Ccflare.Diagnostics;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.Infrastructure;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ccflare.Security;

/// <summary>
/// Encrypts and decrypts secrets stored by Ccflare with ASP.NET Core Data Protection
/// (purpose <c>Ccflare.Secrets.v1</c>). Ciphertext carries the <c>enc:v1:</c> prefix, so
/// plaintext values written by older versions still load and are encrypted on their next write.
/// </summary>
internal sealed class SecretProtector
{
    public const string Purpose = "Ccflare.Secrets.v1";
    public const string Prefix = "enc:v1:";

    private readonly IDataProtector _protector;

    public SecretProtector(IDataProtectionProvider provider)
    {
        _protector = provider.CreateProtector(Purpose);
    }

    private IDataProtector Protector => _protector;

    public static bool IsProtected(string? value) => value is not null && value.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>Encrypts <paramref name="value"/>; null, empty and already encrypted values are returned as is.</summary>
    public string? Protect(string? value) =>
        string.IsNullOrEmpty(value) || IsProtected(value) ? value : Prefix + Protector.Protect(value);

    /// <summary>
    /// Decrypts a value written by <see cref="Protect"/>; plaintext (no prefix) is returned as is.
    /// Returns false, leaving the ciphertext in <paramref name="plain"/>, when the key ring cannot decrypt it.
    /// </summary>
    public bool TryUnprotect(string? value, out string? plain)
    {
        if (!IsProtected(value))
        {
            plain = value;
            return true;
        }
        try
        {
            plain = Protector.Unprotect(value![Prefix.Length..]);
            return true;
        }
        catch (CryptographicException)
        {
            plain = value;
            return false;
        }
    }
}

/// <summary>Points Data Protection at <see cref="CcflareOptions.DataProtectionKeysPath"/> unless the host chose a key repository.</summary>
internal sealed class CcflareKeyManagementSetup(IOptions<CcflareOptions> options, ILoggerFactory loggerFactory) : IConfigureOptions<KeyManagementOptions>
{
    public void Configure(KeyManagementOptions keyOptions)
    {
        if (keyOptions.XmlRepository is null && options.Value.DataProtectionKeysPath is { Length: > 0 } path)
        {
            keyOptions.XmlRepository = new OwnerOnlyXmlRepository(new FileSystemXmlRepository(new DirectoryInfo(path), loggerFactory), path);
        }
    }
}

/// <summary>Ccflare's key directory: the framework's file repository, with every key file narrowed to 0600 once written.</summary>
internal sealed class OwnerOnlyXmlRepository(FileSystemXmlRepository inner, string directory) : IXmlRepository
{
    public IReadOnlyCollection<System.Xml.Linq.XElement> GetAllElements() => inner.GetAllElements();

    public void StoreElement(System.Xml.Linq.XElement element, string friendlyName)
    {
        PrivateFiles.EnsureDirectory(directory);
        inner.StoreElement(element, friendlyName);
        foreach (var file in Directory.EnumerateFiles(directory, "*.xml"))
        {
            PrivateFiles.EnsureFile(file);
        }
    }
}

/// <summary>
/// With Ccflare's own key directory, fixes the application name so that every process using that
/// directory (the server and the CLI) can decrypt each other's secrets.
/// </summary>
internal sealed class CcflareDataProtectionSetup(IOptions<CcflareOptions> options, IServiceProvider services) : IConfigureOptions<DataProtectionOptions>
{
    public const string ApplicationName = "Ccflare";

    public void Configure(DataProtectionOptions dataProtection)
    {
        // Replace only the host's default (its content root), never a name the host set itself.
        var current = dataProtection.ApplicationDiscriminator;
        if (options.Value.DataProtectionKeysPath is { Length: > 0 }
            && (current is null || current == services.GetApplicationUniqueIdentifier()))
        {
            dataProtection.ApplicationDiscriminator = ApplicationName;
        }
    }
}
