// A KMS client for the tests only: the master keys come from the Hadoop setting
// parquet.encryption.key.list ("id:base64,id:base64", the form of ZICHT_EXPORT_KEYS) and
// unwrap data keys locally (AES-GCM, the key id as additional data), as the export wraps them.
// A cluster uses a client of its real KMS instead; this one shows Spark reads the export.

import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import org.apache.parquet.crypto.KeyAccessDeniedException;
import org.apache.parquet.crypto.keytools.LocalWrapKmsClient;

public class KeyListKms extends LocalWrapKmsClient {
  private final Map<String, byte[]> keys = new HashMap<>();

  @Override
  protected void initializeInternal() throws KeyAccessDeniedException {
    String list = hadoopConfiguration.getTrimmed("parquet.encryption.key.list", "");
    for (String item : list.split(",")) {
      int colon = item.indexOf(':');
      if (colon > 0) {
        keys.put(item.substring(0, colon).trim(),
                 Base64.getDecoder().decode(item.substring(colon + 1).trim()));
      }
    }
  }

  @Override
  protected byte[] getMasterKeyFromServer(String id) throws KeyAccessDeniedException {
    byte[] key = keys.get(id);
    if (key == null) {
      throw new KeyAccessDeniedException("no master key " + id);
    }
    return key;
  }
}
